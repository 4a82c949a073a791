%% @doc `mongoose_system_metrics_ctl status|preview|last|validate': asks a running node what
%% its usage report does, over Erlang distribution, and gives the answer as JSON.
%%
%% Nothing here prints or halts: `query/1' returns the text to print and the escript
%% (priv/mongoose_system_metrics_ctl), which parses the command line, prints it and picks
%% the exit status.
-module(mongoose_system_metrics_ctl).

-export([query/1]).

-define(SERVICE, service_mongoose_system_metrics).

-type options() :: #{node := node(),
                     naming := shortnames | longnames,
                     cookie := atom(),
                     command := status | preview | last | validate,
                     %% The options not given, as the command line that gives their defaults.
                     defaults := [string()]}.
-type result() :: {ok, iodata()}
                | {error, 1 | 2, unicode:chardata()}
                | {error, 2, unicode:chardata(), usage}.
%% `{ok, Json}': the node's answer, JSON without a final newline. `{error, Status,
%% Message}': the exit status and what to say, ending with a newline: 1 the service answered
%% with an error, 2 the node cannot be reached. `{error, 2, Message, usage}': the same,
%% to be followed by the usage, since defaults were used.
-export_type([options/0, result/0]).

%% @doc Makes this node distributed (hidden, as the escript runs), connects to the node of
%% `Opts' and asks it.
-spec query(options()) -> result().
query(#{node := Node, command := Command} = Opts) ->
    case connect(Opts) of
        ok -> run(Node, Command);
        Error -> Error
    end.

connect(#{node := Node, naming := Naming, cookie := Cookie, defaults := Defaults}) ->
    Self = list_to_atom("msm_ctl_" ++ os:getpid()),
    case net_kernel:start([Self, Naming]) of
        {ok, _} ->
            true = erlang:set_cookie(Node, Cookie),
            case net_adm:ping(Node) of
                pong ->
                    ok;
                pang when Defaults =:= [] ->
                    {error, 2, io_lib:format("cannot reach node ~s: is it running, and is the cookie right?~n", [Node])};
                pang ->
                    {error, 2, io_lib:format("cannot reach node ~s: is it running, and is the cookie right? "
                                             "(not given, so MongooseIM's defaults were used: ~ts)~n",
                                             [Node, lists:join(" ", Defaults)]),
                     usage}
            end;
        {error, Why} ->
            {error, 2, io_lib:format("cannot start Erlang distribution (is epmd running?): ~p~n", [Why])}
    end.

run(Node, Command) ->
    Function = case Command of last -> last_report; Other -> Other end,
    try erpc:call(Node, ?SERVICE, Function, [], 120000) of
        {ok, Result} -> {ok, json(Result, 0)};
        {error, not_running} -> {error, 1, io_lib:format("the usage report service is not running on ~s~n", [Node])};
        {error, no_report} -> {error, 1, io_lib:format("node ~s has sent no report yet~n", [Node])};
        {error, Why} -> {error, 1, io_lib:format("node ~s says: ~p~n", [Node, Why])};
        Status when is_map(Status) -> {ok, json(Status, 0)}
    catch
        error:{exception, undef, _} ->
            {error, 1, io_lib:format("~s is not loaded on ~s~n", [?SERVICE, Node])};
        Class:Reason ->
            {error, 2, io_lib:format("the call to ~s failed: ~p:~p~n", [Node, Class, Reason])}
    end.

%% JSON, indented by two spaces; object keys sorted. A report's `events' and `requests'
%% come as JSON text already, and are put in as they are.
json(Map, _Depth) when is_map(Map), map_size(Map) =:= 0 -> "{}";
json(Map, Depth) when is_map(Map) ->
    Pairs = lists:sort([{text(K), V} || {K, V} <- maps:to_list(Map)]),
    Inner = [[indent(Depth + 1), string(K), ": ", field(K, V, Depth + 1)] || {K, V} <- Pairs],
    ["{\n", lists:join(",\n", Inner), "\n", indent(Depth), "}"];
json([], _Depth) -> "[]";
json(List, Depth) when is_list(List) ->
    Inner = [[indent(Depth + 1), json(V, Depth + 1)] || V <- List],
    ["[\n", lists:join(",\n", Inner), "\n", indent(Depth), "]"];
json(true, _) -> "true";
json(false, _) -> "false";
json(null, _) -> "null";
json(N, _) when is_integer(N) -> integer_to_list(N);
json(F, _) when is_float(F) -> float_to_list(F, [short]);
json(Other, _) -> string(text(Other)).

field(Key, Text, _Depth) when is_binary(Text), Key =:= <<"events">> orelse Key =:= <<"requests">> -> Text;
field(_Key, Value, Depth) -> json(Value, Depth).

text(B) when is_binary(B) -> B;
text(A) when is_atom(A) -> atom_to_binary(A);
text(T) -> iolist_to_binary(io_lib:format("~0p", [T])).

indent(Depth) -> lists:duplicate(2 * Depth, $\s).

string(Binary) ->
    [$", [escape(C) || C <- unicode:characters_to_list(Binary)], $"].

escape($") -> "\\\"";
escape($\\) -> "\\\\";
escape($\n) -> "\\n";
escape($\r) -> "\\r";
escape($\t) -> "\\t";
escape(C) when C < 16#20 -> io_lib:format("\\u~4.16.0b", [C]);
escape(C) -> <<C/utf8>>.
