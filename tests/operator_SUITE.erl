%% @doc Operators in control, checked with the examples of doc/operator-guide.md as
%% written there: the TOML configuration, the proplist form of start/1, the environment
%% variables and the `mongoose_system_metrics_ctl' command lines run against a real running
%% node; the three modes; the send log; a byte-exact preview; forgetting the client id when
%% turned off.
-module(operator_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(SERVICE, service_mongoose_system_metrics).
-define(COOKIE, "msm_operator").

all() ->
    [the_toml_example_reports_silently,
     the_proplist_example_reports,
     the_tracking_example_reaches_its_own_property,
     the_eu_example_is_accepted,
     the_own_server_example_reports_to_the_usage_server,
     the_local_environment_example_builds_but_never_sends,
     the_off_environment_example_turns_everything_off,
     the_environment_never_raises_sharing,
     the_local_option_builds_but_never_sends,
     turning_off_forgets_the_client_id,
     the_ctl_examples_answer_from_a_running_node,
     the_ctl_says_when_a_node_cannot_be_reached_or_does_not_run_the_service,
     the_send_log_proves_what_was_sent,
     preview_is_byte_exact].

init_per_suite(Config) ->
    [{fixtures, msm_test:compile_fixtures(Config, "operator_fixtures")} | Config].

end_per_suite(_Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    msm_test:init_case(Config, "operator").

end_per_testcase(_Case, Config) ->
    msm_test:end_case(Config).

%% A distributed node with only the code path, and `Env' in its environment.
start_peer(Config, Env) ->
    Name = "msm_op_" ++ integer_to_list(erlang:unique_integer([positive])),
    Paths = [filename:dirname(code:which(?SERVICE)), ?config(fixtures, Config)],
    {Peer, Node} = msm_test:start_peer(#{connection => standard_io, env => Env,
                                         args => ["-sname", Name, "-setcookie", ?COOKIE | msm_test:peer_args() ++ ["-pa" | Paths]]}),
    {Peer, Node, Name}.

call(Peer, F, A) ->
    peer:call(Peer, ?SERVICE, F, A, 60000).

%% What the tests add to an example: a destination, reports to the collector, into this
%% case's directory, the first one at once.
test_overrides(Config) ->
    #{google_analytics_url => ga4_collector_port:url(?config(collector, Config)),
      tracking_id => #{id => "G-OPERATOR1", secret => "operator-secret-123"},
      report_file => filename:join(?config(dir, Config), "system_metrics_report.json"),
      initial_report => 0}.

%% Examples of the guide.

guide() ->
    {ok, Text} = file:read_file(filename:join([code:priv_dir(mongoose_system_metrics), "..", "..",
                                               "doc", "operator-guide.md"])),
    Text.

%% The code block after `<!-- example: Name -->'.
example(Name) ->
    Marker = iolist_to_binary(["<!-- example: ", Name, " -->"]),
    [_, After] = binary:split(guide(), Marker),
    [_, Rest] = binary:split(After, <<"```">>),
    [_Language, Block] = binary:split(Rest, <<"\n">>),
    [Code | _] = binary:split(Block, <<"```">>),
    binary_to_list(Code).

%% The options MongooseIM's TOML parser would give for a [services...] section: atom
%% keys, charlist strings, dotted keys as nested maps. Enough TOML for the guide.
toml_options(Text) ->
    Lines = [string:trim(L) || L <- string:split(Text, "\n", all)],
    lists:foldl(fun toml_line/2, #{}, [L || L <- Lines, L =/= "", hd(L) =/= $[]).

toml_line(Line, Acc) ->
    [Key, Value] = [string:trim(P) || P <- string:split(Line, "=")],
    Path = [list_to_atom(K) || K <- string:split(Key, ".", all)],
    put_path(Path, toml_value(Value), Acc).

toml_value("true") -> true;
toml_value("false") -> false;
toml_value([$" | Rest]) -> lists:droplast(Rest);
toml_value(Digits) -> list_to_integer([D || D <- Digits, D =/= $_]).

put_path([Key], Value, Map) -> Map#{Key => Value};
put_path([Key | Rest], Value, Map) -> Map#{Key => put_path(Rest, Value, maps:get(Key, Map, #{}))}.

%% The options of the `service_mongoose_system_metrics:start(Options).' example.
proplist_options(Text) ->
    {ok, Tokens, _} = erl_scan:string(Text),
    {ok, [{call, _, {remote, _, {atom, _, service_mongoose_system_metrics}, {atom, _, start}}, [Arg]}]} =
        erl_parse:parse_exprs(Tokens),
    erl_parse:normalise(Arg).

environment(Text) ->
    [list_to_tuple(string:split(string:prefix(string:trim(L), "export "), "="))
     || L <- string:split(Text, "\n", all), string:prefix(string:trim(L), "export ") =/= nomatch].

%% The guide's command lines, for this node (its full name) and cookie.
ctl_lines(Name) ->
    [for_node(tl(string:lexemes(L, " ")), Name)
     || L <- string:split(example("ctl"), "\n", all), string:prefix(L, "mongoose_system_metrics_ctl") =/= nomatch].

for_node(["--node", _ | Rest], Name) -> ["--node", Name | for_node(Rest, Name)];
for_node(["--sname", _ | Rest], Name) -> ["--sname", Name | for_node(Rest, Name)];
for_node([Arg | Rest], Name) -> [Arg | for_node(Rest, Name)];
for_node([], _) -> [].

ctl(Args) ->
    Script = filename:join(code:priv_dir(mongoose_system_metrics), "mongoose_system_metrics_ctl"),
    %% The cookie in the environment, as the guide's example gives it.
    Port = open_port({spawn_executable, os:find_executable("escript")},
                     [{args, [Script | Args]}, {env, [{"MONGOOSEIM_COOKIE", ?COOKIE}]}, exit_status,
                      stderr_to_stdout, binary]),
    ctl_output(Port, <<>>).

ctl_output(Port, Acc) ->
    receive
        {Port, {data, Data}} -> ctl_output(Port, <<Acc/binary, Data/binary>>);
        {Port, {exit_status, Status}} -> {Status, Acc}
    after 60000 ->
        error(ctl_timeout)
    end.

sent(Config) ->
    [R || #{<<"path">> := P} = R <- ga4_collector_port:requests(?config(collector, Config)), P =/= <<"/debug/mp/collect">>].

%% Cases.

the_toml_example_reports_silently(Config) ->
    Options = toml_options(example("toml")),
    ?assertEqual(#{report => true, initial_report => 300000, periodic_report => 10800000}, Options),
    {Peer, _, _} = start_peer(Config, []),
    {ok, _} = call(Peer, start, [maps:merge(Options, test_overrides(Config))]),
    ?assertMatch(#{mode := on, mode_reason := <<"option report = true">>}, call(Peer, status, [])),
    [_] = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1).

the_proplist_example_reports(Config) ->
    Options = proplist_options(example("proplist")),
    ?assertEqual([report, {initial_report, 300000}, {periodic_report, 10800000}], Options),
    {Peer, _, _} = start_peer(Config, []),
    Overrides = maps:to_list(test_overrides(Config)),
    {ok, _} = call(Peer, start, [[O || O <- Options, not is_tuple(O) orelse element(1, O) =/= initial_report] ++ Overrides]),
    [_] = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1).

the_tracking_example_reaches_its_own_property(Config) ->
    #{tracking_id := Tracking} = toml_options(example("toml-tracking")),
    {Peer, _, _} = start_peer(Config, []),
    {ok, _} = call(Peer, start, [maps:merge(test_overrides(Config), #{tracking_id => Tracking})]),
    [#{<<"measurement_id">> := Id, <<"api_secret">> := Secret}] =
        ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    ?assertEqual({list_to_binary(maps:get(id, Tracking)), list_to_binary(maps:get(secret, Tracking))}, {Id, Secret}),
    Status = call(Peer, status, []),
    ?assertMatch(#{destinations := [Id]}, Status),
    ?assertNot(msm_test:contains(term_to_binary(Status), Secret)).

%% "Report to your own server instead of Google": the guide's command line starts the server
%% (on a free port here), and the guide's TOML section, with that port, makes this node's
%% service report to it; the server keeps the report under the node's client id.
the_own_server_example_reports_to_the_usage_server(Config) ->
    #{google_analytics_url := "http://127.0.0.1:8300", tracking_id := #{id := Id, secret := Secret}} = Options =
        toml_options(example("toml-own-server")),
    {match, [Stream]} = re:run(guide(), "--stream (G-[A-Z0-9]+=[A-Za-z0-9]+)", [{capture, all_but_first, list}]),
    ?assertEqual(Id ++ "=" ++ Secret, Stream),
    Database = "sqlite:" ++ filename:join(?config(dir, Config), "usage.sqlite3"),
    Server = usage_server_port:start(["--database", Database, "--stream", Stream]),
    try
        {ok, _} = ?SERVICE:start(Options#{google_analytics_url := usage_server_port:url(Server),
                                          report => true, initial_report => 600000,
                                          report_file => filename:join(?config(dir, Config), "system_metrics_report.json")}),
        {ok, #{<<"client_id">> := ClientId}} = ?SERVICE:report_now(),
        ?assertMatch([#{<<"client_id">> := ClientId, <<"reports">> := 1}],
                     usage_server_port:get_json(Server, "/api/deployments"))
    after
        0 = usage_server_port:stop(Server)
    end.

the_eu_example_is_accepted(_Config) ->
    #{google_analytics_url := Url} = toml_options(example("toml-eu")),
    ?assertEqual("https://region1.google-analytics.com", Url),
    %% Configured, not sent: no test leaves this machine.
    {ok, _, #{destinations := []}} =
        mongoose_system_metrics_core:configure_argument(#{options => #{google_analytics_url => Url}}).

the_local_environment_example_builds_but_never_sends(Config) ->
    Env = environment(example("environment-local")),
    ?assertEqual([{"MONGOOSEIM_SYSTEM_METRICS", "local"}], Env),
    {Peer, _, _} = start_peer(Config, Env),
    {ok, _} = call(Peer, start, [maps:merge(#{periodic_report => 200}, test_overrides(Config))]),
    ReportFile = filename:join(?config(dir, Config), "system_metrics_report.json"),
    msm_test:wait_until("the first report file", fun() -> filelib:is_regular(ReportFile) end),
    %% Nothing is ever sent, which only time can show: four more cycles.
    timer:sleep(800),
    ?assertEqual([], sent(Config)),
    ?assertMatch(#{mode := local, mode_reason := <<"environment MONGOOSEIM_SYSTEM_METRICS=local">>},
                 call(Peer, status, [])),
    File = msm_test:read_json(ReportFile),
    ?assertMatch(#{<<"mode">> := <<"local">>, <<"destinations">> := [#{<<"result">> := <<"not_sent">>}]}, File),
    ?assertNotEqual([], maps:get(<<"events">>, File)),
    ?assertNot(filelib:is_file(filename:join(?config(dir, Config), "system_metrics_send_log.jsonl"))).

the_off_environment_example_turns_everything_off(Config) ->
    Env = environment(example("environment-off")),
    ?assertEqual([{"DO_NOT_TRACK", "1"}], Env),
    {Peer, _, _} = start_peer(Config, Env),
    ?assertEqual(ignore, call(Peer, start, [maps:merge(#{report => true}, test_overrides(Config))])),
    ?assertEqual(undefined, peer:call(Peer, erlang, whereis, [?SERVICE])),
    ?assertMatch(#{mode := off, mode_reason := <<"environment DO_NOT_TRACK=1">>}, call(Peer, status, [])),
    %% Nothing must happen, so there is nothing to wait for: a moment for a stray report.
    timer:sleep(300),
    ?assertEqual([], ga4_collector_port:requests(?config(collector, Config))),
    ?assertEqual({ok, []}, file:list_dir(?config(dir, Config))).

the_environment_never_raises_sharing(Config) ->
    {Peer, _, _} = start_peer(Config, [{"MONGOOSEIM_SYSTEM_METRICS", "on"}]),
    ?assertEqual(ignore, call(Peer, start, [maps:merge(#{report => false}, test_overrides(Config))])),
    ?assertMatch(#{mode := off, mode_reason := <<"option report = false">>}, call(Peer, status, [])),
    {ok, _} = call(Peer, start, [maps:merge(#{report => local}, test_overrides(Config))]),
    ?assertMatch(#{mode := local, mode_reason := <<"option report = local">>}, call(Peer, status, [])).

the_local_option_builds_but_never_sends(Config) ->
    {Peer, _, _} = start_peer(Config, []),
    {ok, _} = call(Peer, start, [maps:merge(#{report => local}, test_overrides(Config))]),
    {ok, Report} = call(Peer, report_now, []),
    ?assertMatch(#{<<"mode">> := <<"local">>, <<"destinations">> := [#{<<"result">> := <<"not_sent">>}]}, Report),
    ?assertEqual([], sent(Config)).

turning_off_forgets_the_client_id(Config) ->
    {Peer, _, _} = start_peer(Config, []),
    IdFile = filename:join(?config(dir, Config), "system_metrics_client_id"),
    {ok, #{<<"client_id">> := First}} = begin
                                            {ok, _} = call(Peer, start, [test_overrides(Config)]),
                                            call(Peer, report_now, [])
                                        end,
    ?assert(filelib:is_file(IdFile)),
    ok = call(Peer, stop, []),
    ignore = call(Peer, start, [maps:merge(#{report => false}, test_overrides(Config))]),
    ?assertNot(filelib:is_file(IdFile)),
    {ok, _} = call(Peer, start, [test_overrides(Config)]),
    {ok, #{<<"client_id">> := Second}} = call(Peer, report_now, []),
    ?assertNotEqual(First, Second).

the_ctl_examples_answer_from_a_running_node(Config) ->
    {Peer, Node, _} = start_peer(Config, []),
    {ok, _} = call(Peer, start, [test_overrides(Config)]),
    [_] = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    %% The guide gives the cookie in the environment (this node's cookie, here).
    ?assertMatch({match, _}, re:run(example("ctl"), "^export MONGOOSEIM_COOKIE=", [multiline])),
    Outputs = [{Args, ctl(Args)} || Args <- ctl_lines(atom_to_list(Node))],
    ?assertEqual(4, length(Outputs)),
    ?assertEqual([0, 0, 0, 0], [S || {_, {S, _}} <- Outputs]),
    [Status, Preview, Last, Validate] = [msm_json:decode(Out) || {_, {_, Out}} <- Outputs],
    ?assertMatch(#{<<"mode">> := <<"on">>, <<"destinations">> := [<<"G-OPERATOR1">>], <<"reporter">> := true,
                   <<"last_report">> := #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}}, Status),
    ?assert(msm_test:is_uuid_v4(maps:get(<<"client_id">>, Status))),
    ?assertMatch(#{<<"destinations">> := [#{<<"result">> := <<"not_sent">>}], <<"requests">> := [_]}, Preview),
    {ok, LastReport} = call(Peer, last_report, []),
    ?assertEqual(msm_test:decoded(LastReport), Last),
    ?assertMatch([#{<<"id">> := <<"G-OPERATOR1">>, <<"messages">> := []}], Validate),
    [?assertNot(msm_test:contains(Out, "operator-secret-123")) || {_, {_, Out}} <- Outputs].

the_ctl_says_when_a_node_cannot_be_reached_or_does_not_run_the_service(Config) ->
    {2, Unreachable} = ctl(["--sname", "msm_no_such_node", "status"]),
    ?assert(msm_test:contains(Unreachable, "cannot reach node msm_no_such_node@")),
    {_Peer, _, Name} = start_peer(Config, []),
    {1, NotRunning} = ctl(["--sname", Name, "preview"]),
    ?assert(msm_test:contains(NotRunning, "not running")),
    {2, Usage} = ctl(["status"]),
    ?assert(msm_test:contains(Usage, "usage:")).

the_send_log_proves_what_was_sent(Config) ->
    {Peer, _, _} = start_peer(Config, []),
    {ok, _} = call(Peer, start, [test_overrides(Config)]),
    {ok, _} = call(Peer, report_now, []),
    {ok, _} = call(Peer, report_now, []),
    {ok, Log} = file:read_file(filename:join(?config(dir, Config), "system_metrics_send_log.jsonl")),
    Lines = [msm_json:decode(L) || L <- binary:split(Log, <<"\n">>, [global, trim_all])],
    Bodies = [B || #{<<"body">> := B} <- sent(Config)],
    ?assert(length(Lines) >= 2),
    Logged = lists:append([Hashes || #{<<"sha256">> := Hashes} <- Lines]),
    ?assertEqual([hex(crypto:hash(sha256, B)) || B <- Bodies], Logged),
    [?assertMatch(#{<<"destination">> := <<"G-OPERATOR1">>, <<"result">> := <<"delivered">>, <<"requests">> := 1,
                    <<"time">> := _}, L) || L <- Lines].

hex(Bytes) ->
    list_to_binary([io_lib:format("~2.16.0b", [B]) || <<B>> <= Bytes]).

preview_is_byte_exact(Config) ->
    {Peer, _, _} = start_peer(Config, []),
    ok = peer:call(Peer, application, load, [mongoose_system_metrics]),
    ok = peer:call(Peer, application, set_env, [mongoose_system_metrics, facts_source, fixed_source]),
    {ok, _} = call(Peer, start, [maps:merge(test_overrides(Config), #{initial_report => 3600000})]),
    {ok, Previewed} = call(Peer, preview, []),
    #{<<"requests">> := Planned} = msm_test:decoded(Previewed),
    ?assertEqual([], sent(Config)),
    {ok, _} = call(Peer, report_now, []),
    ?assertEqual([B || #{<<"body">> := B} <- Planned], [B || #{<<"body">> := B} <- sent(Config)]).
