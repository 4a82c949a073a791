%% @doc Real MongooseIM releases for the suites that prove host behaviour on a real node.
%%
%% `MONGOOSEIM_RELEASE' names the root of a MongooseIM release (a packaged install, or one
%% made by `mongooseim-6.3.3/bin/make-release DIR'); `MONGOOSEIM_RELEASE_2' a second one
%% with another node name and other ports, for the cluster cases. The suites change a
%% release while they run (the project installed, the service section, test users) and
%% put it back afterwards. `make test' makes two fresh ones when it finds the shared
%% MongooseIM 6.3.3 build (`scripts/with-mongooseim-releases.sh').
-module(msm_release).
-export([root/1, skip_line/0, node_name/1, cookie/1, bin/2, ctl/2, run/2, run/3, start/1, stop/1,
         connect/1, rpc/4, rpc/5, ctl_path/0, log_text/1]).

%% @doc The root of release N (1 or 2), or `undefined' when its variable is not set.
-spec root(1 | 2) -> file:filename() | undefined.
root(N) ->
    Var = case N of 1 -> "MONGOOSEIM_RELEASE"; 2 -> "MONGOOSEIM_RELEASE_2" end,
    case os:getenv(Var) of
        false -> undefined;
        "" -> undefined;
        Root -> Root
    end.

%% @doc The one line a suite skips with when no release is given.
-spec skip_line() -> string().
skip_line() ->
    "no MongooseIM release: set MONGOOSEIM_RELEASE (and MONGOOSEIM_RELEASE_2 for the cluster "
    "cases) to the root of a MongooseIM release, e.g. one made by mongooseim-6.3.3/bin/make-release DIR".

%% @doc The node name of the release, from its `etc/vm.args'.
-spec node_name(file:filename()) -> node().
node_name(Root) ->
    [Name] = vm_arg(Root, ["-sname", "-name"]),
    list_to_atom(Name).

-spec cookie(file:filename()) -> atom().
cookie(Root) ->
    [Cookie] = vm_arg(Root, ["-setcookie"]),
    list_to_atom(Cookie).

vm_arg(Root, Flags) ->
    {ok, Text} = file:read_file(filename:join([Root, "etc", "vm.args"])),
    [binary_to_list(Value) || Line <- binary:split(Text, <<"\n">>, [global]),
                              [Flag, Value | _] <- [string:lexemes(Line, " \t")],
                              lists:member(binary_to_list(Flag), Flags)].

%% @doc Runs `bin/mongooseim Command' of the release: `{ExitStatus, Output}'.
-spec bin(file:filename(), [string()]) -> {non_neg_integer(), binary()}.
bin(Root, Args) ->
    run(filename:join([Root, "bin", "mongooseim"]), Args).

%% @doc Runs `bin/mongooseimctl Args' of the release.
-spec ctl(file:filename(), [string()]) -> {non_neg_integer(), binary()}.
ctl(Root, Args) ->
    run(filename:join([Root, "bin", "mongooseimctl"]), Args).

%% @doc Runs an executable with arguments, without a shell: `{ExitStatus, Output}' with
%% standard error folded into the output.
-spec run(file:filename(), [string()]) -> {non_neg_integer(), binary()}.
run(Executable, Args) ->
    run(Executable, Args, #{}).

%% @doc `run/2' with `env' (variables to set, or unset with `false'), `cd' (the directory
%% to run in) and `timeout' (milliseconds, 3 minutes unless given).
-spec run(file:filename(), [string()], #{env => [{string(), string() | false}], cd => file:filename(),
                                         timeout => timeout()}) -> {non_neg_integer(), binary()}.
run(Executable, Args, Options) ->
    Cd = [{cd, Dir} || #{cd := Dir} <- [Options]],
    Port = open_port({spawn_executable, Executable},
                     [{args, Args}, {env, maps:get(env, Options, [])}, binary, exit_status,
                      stderr_to_stdout, use_stdio | Cd]),
    collect(Port, [], maps:get(timeout, Options, 180000)).

collect(Port, Acc, Timeout) ->
    receive
        {Port, {data, Data}} -> collect(Port, [Data | Acc], Timeout);
        {Port, {exit_status, Status}} -> {Status, iolist_to_binary(lists:reverse(Acc))}
    after Timeout ->
        catch port_close(Port),
        error({timeout, iolist_to_binary(lists:reverse(Acc))})
    end.

%% @doc Starts the node; returns once MongooseIM has started.
-spec start(file:filename()) -> ok.
start(Root) ->
    case bin(Root, ["start"]) of
        {0, _} -> connect(Root);
        {Status, Output} -> error({start_failed, Root, Status, Output})
    end.

%% @doc Stops the node; returns once its VM has exited.
-spec stop(file:filename()) -> ok.
stop(Root) ->
    case bin(Root, ["stop"]) of
        {0, _} -> ok;
        {Status, Output} -> error({stop_failed, Root, Status, Output})
    end.

%% @doc Connects this node to the release's node (starting distribution when needed).
-spec connect(file:filename()) -> ok.
connect(Root) ->
    case node() of
        nonode@nohost ->
            _ = os:cmd("epmd -daemon"),
            Name = list_to_atom("msm_ct_" ++ os:getpid()),
            {ok, _} = net_kernel:start([Name, shortnames]),
            ok;
        _ ->
            ok
    end,
    Node = node_name(Root),
    true = erlang:set_cookie(Node, cookie(Root)),
    pong = net_adm:ping(Node),
    ok.

%% @doc Calls a function on the release's node.
-spec rpc(file:filename(), module(), atom(), [term()]) -> term().
rpc(Root, Module, Function, Args) ->
    rpc(Root, Module, Function, Args, 60000).

-spec rpc(file:filename(), module(), atom(), [term()], timeout()) -> term().
rpc(Root, Module, Function, Args, Timeout) ->
    erpc:call(node_name(Root), Module, Function, Args, Timeout).

%% @doc The operator command as built: the application's `priv/mongoose_system_metrics_ctl'.
-spec ctl_path() -> file:filename().
ctl_path() ->
    filename:join(code:priv_dir(mongoose_system_metrics), "mongoose_system_metrics_ctl").

%% @doc The text log of the node (every `log/mongooseim.log*' file, oldest first).
-spec log_text(file:filename()) -> binary().
log_text(Root) ->
    Files = filelib:wildcard(filename:join([Root, "log", "mongooseim.log*"])),
    iolist_to_binary([Bytes || F <- lists:sort(Files), not lists:suffix(".idx", F),
                               not lists:suffix(".siz", F), {ok, Bytes} <- [file:read_file(F)]]).
