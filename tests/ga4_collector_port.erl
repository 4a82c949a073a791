%% @doc Runs the project's local GA4 collector (`target/release/ga4_collector') for a test
%% and talks to its control endpoints. The collector exits when its port is closed, so a
%% test can never leave it behind.
-module(ga4_collector_port).
-export([start/0, start_tls/1, stop/1, url/1, requests/1, wait_for_requests/3, clear/1, set_mode/2,
         events/1, binary_path/0]).

-type collector() :: #{port := port(), tcp_port := inet:port_number()}.
-export_type([collector/0]).

-spec binary_path() -> file:filename().
binary_path() ->
    case os:getenv("GA4_COLLECTOR") of
        false ->
            %% priv is a symlink to erlang/priv of the repository, so ../.. is its root.
            Priv = code:priv_dir(mongoose_system_metrics),
            filename:join([Priv, "..", "..", "target", "release", "ga4_collector"]);
        Path ->
            Path
    end.

-spec start() -> collector().
start() ->
    start(["--port", "0"]).

%% @doc A collector speaking HTTPS with a certificate from its own CA, whose PEM it
%% writes to Dir/ca.pem; url/1 then gives an https URL.
-spec start_tls(file:filename()) -> collector().
start_tls(Dir) ->
    (start(["--port", "0", "--tls-dir", Dir]))#{scheme => "https", ca_pem => filename:join(Dir, "ca.pem")}.

start(Args) ->
    Port = open_port({spawn_executable, binary_path()},
                     [{args, Args}, {line, 256}, binary, use_stdio, exit_status]),
    receive
        {Port, {data, {eol, <<"listening on 127.0.0.1:", TcpPort/binary>>}}} ->
            #{port => Port, tcp_port => binary_to_integer(TcpPort)};
        {Port, Other} ->
            error({collector_failed_to_start, Other})
    after 10000 ->
        error(collector_did_not_start)
    end.

-spec stop(collector()) -> ok.
stop(#{port := Port}) ->
    catch port_close(Port),
    ok.

-spec url(collector()) -> string().
url(#{tcp_port := TcpPort} = Collector) ->
    maps:get(scheme, Collector, "http") ++ "://127.0.0.1:" ++ integer_to_list(TcpPort).

%% @doc Every request recorded, decoded: maps with binary keys.
-spec requests(collector()) -> [map()].
requests(Collector) ->
    {200, Body} = http(Collector, "GET", "/_collector/requests", <<>>),
    msm_json:decode(Body).

%% @doc Waits (up to 10 s) until at least N requests at Path were recorded, and returns
%% them.
-spec wait_for_requests(collector(), binary(), pos_integer()) -> [map()].
wait_for_requests(Collector, Path, N) ->
    wait_for_requests(Collector, Path, N, erlang:monotonic_time(millisecond) + 10000).

wait_for_requests(Collector, Path, N, Deadline) ->
    Found = [R || #{<<"path">> := P} = R <- requests(Collector), P =:= Path],
    case length(Found) >= N of
        true ->
            Found;
        false ->
            case erlang:monotonic_time(millisecond) < Deadline of
                true -> timer:sleep(25), wait_for_requests(Collector, Path, N, Deadline);
                false -> error({too_few_requests, Path, N, Found})
            end
    end.

%% @doc The events of every recorded hit, in the order received.
-spec events([map()]) -> [map()].
events(Requests) ->
    lists:append([Events || #{<<"json">> := #{<<"events">> := Events}} <- Requests]).

-spec clear(collector()) -> ok.
clear(Collector) ->
    {204, _} = http(Collector, "DELETE", "/_collector/requests", <<>>),
    ok.

%% @doc `normal', `{status, Code}', `{status_for, MeasurementId, Code}', `{delay, Ms}',
%% or the collector's own mode text, e.g. "sequence 503,200", "hang", "reset".
-spec set_mode(collector(), normal | {status, integer()} | {status_for, string(), integer()}
                            | {delay, non_neg_integer()} | string()) -> ok.
set_mode(Collector, Mode) ->
    Body = case Mode of
               normal -> "normal";
               {status, Code} -> io_lib:format("status ~b", [Code]);
               {status_for, Id, Code} -> io_lib:format("status_for ~s ~b", [Id, Code]);
               {delay, Ms} -> io_lib:format("delay ~b", [Ms]);
               Text when is_list(Text) -> Text
           end,
    {204, _} = http(Collector, "PUT", "/_collector/mode", iolist_to_binary(Body)),
    ok.

%% A one-shot HTTP/1.1 exchange on a fresh connection.
http(#{tcp_port := TcpPort} = Collector, Method, Path, Body) ->
    {Transport, Socket} = connect(Collector, TcpPort),
    Request = [Method, " ", Path, " HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n",
               "content-length: ", integer_to_list(byte_size(Body)), "\r\n\r\n", Body],
    ok = Transport:send(Socket, Request),
    Answer = read_all(Transport, Socket, <<>>),
    Transport:close(Socket),
    [Head, ResponseBody] = binary:split(Answer, <<"\r\n\r\n">>),
    <<"HTTP/1.1 ", Code:3/binary, _/binary>> = Head,
    {binary_to_integer(Code), ResponseBody}.

read_all(Transport, Socket, Acc) ->
    case Transport:recv(Socket, 0, 5000) of
        {ok, Data} -> read_all(Transport, Socket, <<Acc/binary, Data/binary>>);
        {error, closed} -> Acc
    end.

%% Plain TCP, or TLS verified against the collector's own CA.
connect(#{ca_pem := CaPem}, TcpPort) ->
    {ok, _} = application:ensure_all_started(ssl),
    {ok, Socket} = ssl:connect({127, 0, 0, 1}, TcpPort,
                               [binary, {active, false}, {verify, verify_peer}, {cacertfile, CaPem},
                                {server_name_indication, "localhost"}], 5000),
    {ssl, Socket};
connect(_, TcpPort) ->
    {ok, Socket} = gen_tcp:connect({127, 0, 0, 1}, TcpPort, [binary, {active, false}], 5000),
    {gen_tcp, Socket}.
