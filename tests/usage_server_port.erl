%% @doc Runs the project's usage server (`target/release/mongoose_usage_server') for a
%% test: starts it on a free loopback port with the arguments given, reads the URL it
%% prints once ready, talks to it over HTTP, and stops it (SIGTERM) or kills it (SIGKILL).
-module(usage_server_port).
-export([binary_path/0, start/1, stop/1, kill/1, url/1, get/2, get_json/2, post/4]).

-type server() :: #{port := port(), os_pid := non_neg_integer(), url := string()}.
-export_type([server/0]).

-spec binary_path() -> file:filename().
binary_path() ->
    case os:getenv("MONGOOSE_USAGE_SERVER") of
        false ->
            %% priv is a symlink to erlang/priv of the repository, so ../.. is its root.
            Priv = code:priv_dir(mongoose_system_metrics),
            filename:join([Priv, "..", "..", "target", "release", "mongoose_usage_server"]);
        Path ->
            Path
    end.

%% @doc Starts the server with `Args' (`--listen 127.0.0.1:0' is added); waits for the
%% line that says where it listens.
-spec start([string()]) -> server().
start(Args) ->
    %% Its log (JSON lines on stderr) comes through the port too, so that it stays out of
    %% the test run's output; what is not the ready line is dropped.
    Port = open_port({spawn_executable, binary_path()},
                     [{args, ["--listen", "127.0.0.1:0" | Args]}, {line, 4096}, binary, use_stdio,
                      stderr_to_stdout, exit_status]),
    {os_pid, OsPid} = erlang:port_info(Port, os_pid),
    ready(Port, OsPid, erlang:monotonic_time(millisecond) + 20000).

ready(Port, OsPid, Deadline) ->
    receive
        {Port, {data, {eol, <<"mongoose_usage_server listening on ", Url/binary>>}}} ->
            #{port => Port, os_pid => OsPid, url => string:trim(binary_to_list(Url), trailing, "/")};
        {Port, {data, _LogLine}} ->
            ready(Port, OsPid, Deadline);
        {Port, {exit_status, Status}} ->
            error({usage_server_exited, Status})
    after max(0, Deadline - erlang:monotonic_time(millisecond)) ->
        error(usage_server_did_not_start)
    end.

%% @doc Asks the server to shut down (SIGTERM) and returns its exit status.
-spec stop(server()) -> non_neg_integer().
stop(Server) ->
    signal(Server, "TERM").

%% @doc Kills the server outright (SIGKILL), as a crash would.
-spec kill(server()) -> non_neg_integer().
kill(Server) ->
    signal(Server, "KILL").

signal(#{port := Port, os_pid := OsPid}, Signal) ->
    _ = os:cmd("kill -" ++ Signal ++ " " ++ integer_to_list(OsPid)),
    exited(Port, Signal).

exited(Port, Signal) ->
    receive
        {Port, {data, _LogLine}} -> exited(Port, Signal);
        {Port, {exit_status, Status}} -> Status
    after 15000 ->
        error({usage_server_did_not_exit, Signal})
    end.

-spec url(server()) -> string().
url(#{url := Url}) ->
    Url.

%% @doc `{Status, Body}' of a GET of `Path'.
-spec get(server(), string()) -> {non_neg_integer(), binary()}.
get(Server, Path) ->
    request(get, {url(Server) ++ Path, []}).

%% @doc The decoded JSON body of a GET of `Path' that must answer 200.
-spec get_json(server(), string()) -> term().
get_json(Server, Path) ->
    {200, Body} = get(Server, Path),
    msm_json:decode(Body).

%% @doc `{Status, Body}' of a POST of `Body' to `Path'.
-spec post(server(), string(), string(), iodata()) -> {non_neg_integer(), binary()}.
post(Server, Path, ContentType, Body) ->
    request(post, {url(Server) ++ Path, [], ContentType, iolist_to_binary(Body)}).

request(Method, Request) ->
    {ok, _} = application:ensure_all_started(inets),
    {ok, {{_, Status, _}, _Headers, Body}} =
        httpc:request(Method, Request, [{timeout, 15000}], [{body_format, binary}]),
    {Status, Body}.
