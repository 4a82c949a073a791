%% @doc The service inside a real MongooseIM release, installed as an operator installs it.
%%
%% Runs against the release named by `MONGOOSEIM_RELEASE' (and `MONGOOSEIM_RELEASE_2' for
%% the cluster cases; see `msm_release'), and skips with one line without it. The suite
%% installs the project with `mongoose_system_metrics_ctl install', configures the
%% service in `etc/mongooseim.toml' with `google_analytics_url' pointing at the local
%% collector, starts real nodes with `bin/mongooseim', drives XMPP traffic
%% (`MONGOOSEIM_TRAFFIC', the release build's `xmpp-traffic') and checks what arrives
%% against the node's own configuration, counters and MongooseIM's own collector, which
%% the release still ships. It puts the release back as it found it.
-module(mongooseim_release_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(SERVICE, service_mongoose_system_metrics).
-define(PRODUCTION, <<"G-B4S18X6KY5">>).
-define(CI_PROPERTY, <<"G-VB91V60SKT">>).

all() ->
    [{group, single_node}, {group, cluster}].

groups() ->
    [{single_node, [],
      [the_installed_module_runs_and_says_so,
       mongooseim_s_parser_takes_every_option,
       the_report_matches_the_node,
       the_events_are_mongooseim_s_but_for_the_listed_differences,
       stanza_totals_equal_mongooseim_s_own,
       prometheus_totals_equal_mongooseim_s_own,
       reports_go_to_mongooseim_s_property_by_default,
       mongooseim_s_own_url_setting_is_honoured,
       no_destination_is_said_not_claimed,
       consent_through_mongooseim_toml,
       a_refused_option_is_named,
       the_node_reports_to_its_own_usage_server,
       stopping_mongooseim_is_not_slowed]},
     {cluster, [],
      [one_report_per_period_for_a_two_node_cluster]}].

%% Setup.

init_per_suite(Config) ->
    case msm_release:root(1) of
        undefined ->
            {skip, msm_release:skip_line()};
        Root ->
            Saved = [{R, save(R)} || R <- [Root | [R2 || R2 <- [msm_release:root(2)], R2 =/= undefined]]],
            [install(R) || {R, _} <- Saved],
            [{root, Root}, {saved, Saved} | Config]
    end.

end_per_suite(Config) ->
    [begin
         stop_quietly(Root),
         {0, _} = msm_release:run(msm_release:ctl_path(), ["uninstall", Root]),
         restore(Root, Files)
     end || {Root, Files} <- ?config(saved, Config)],
    ok.

init_per_group(cluster, Config) ->
    case msm_release:root(2) of
        undefined -> {skip, "no second MongooseIM release: set MONGOOSEIM_RELEASE_2 for the cluster cases"};
        Root2 -> [{root2, Root2} | Config]
    end;
init_per_group(_, Config) ->
    Config.

%% The users the traffic needed go again.
end_per_group(single_node, Config) ->
    Root = ?config(root, Config),
    start(Root),
    [msm_release:ctl(Root, ["account", "removeUser", "--user", U ++ "@localhost"]) || U <- ["alice", "bob"]],
    stop_quietly(Root);
end_per_group(_, _Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    [{collector, ga4_collector_port:start()} | Config].

end_per_testcase(_Case, Config) ->
    [stop_quietly(R) || R <- [?config(root, Config) | [R2 || R2 <- [?config(root2, Config)], R2 =/= undefined]]],
    ga4_collector_port:stop(?config(collector, Config)).

%% The files the suite changes, to put back byte for byte.
save(Root) ->
    [{F, element(2, {ok, _} = file:read_file(filename:join(Root, F)))} || F <- ["etc/mongooseim.toml", "etc/vm.args"]].

restore(Root, Files) ->
    [ok = file:write_file(filename:join(Root, F), Bytes) || {F, Bytes} <- Files],
    ok.

install(Root) ->
    {0, Out} = msm_release:run(msm_release:ctl_path(), ["install", Root]),
    ct:pal("install ~s:~n~s", [Root, Out]).

stop_quietly(Root) ->
    _ = msm_release:bin(Root, ["stop"]),
    ok.

%% etc/mongooseim.toml as the release had it, with the service section (or none) and the
%% instrumentation given.
configure(Config, Root, Section) ->
    configure(Config, Root, Section, "[instrumentation.exometer]").

configure(Config, Root, Section, Instrumentation) ->
    {_, Files} = lists:keyfind(Root, 1, ?config(saved, Config)),
    {_, Original} = lists:keyfind("etc/mongooseim.toml", 1, Files),
    WithInstrumentation = binary:replace(Original, <<"[instrumentation.exometer]">>, iolist_to_binary(Instrumentation)),
    Toml = case Section of
               absent -> WithInstrumentation;
               _ -> [WithInstrumentation, "\n[services.service_mongoose_system_metrics]\n", Section]
           end,
    ok = file:write_file(filename:join([Root, "etc", "mongooseim.toml"]), Toml).

%% A section that reports to the local collector, with `Extra' lines; the first report
%% is left to the case (report_now/0) unless it sets `initial_report' itself.
section(Config, Extra) ->
    Initial = case msm_test:contains(Extra, "initial_report") of
                  true -> "";
                  false -> "  initial_report = 600_000\n"
              end,
    ["  google_analytics_url = \"", ga4_collector_port:url(?config(collector, Config)), "\"\n", Initial, Extra].

%% Starts the node with `Env' added to its environment; returns the log position, so that
%% only what this start logged is read.
start(Root) ->
    start(Root, []).

start(Root, Env) ->
    Mark = iso_now(),
    case msm_release:run(filename:join([Root, "bin", "mongooseim"]), ["start"], #{env => Env}) of
        {0, _} -> ok = msm_release:connect(Root);
        Failed -> error({start_failed, Failed, log_since(Root, Mark)})
    end,
    Mark.

iso_now() ->
    list_to_binary(calendar:system_time_to_rfc3339(os:system_time(microsecond), [{unit, microsecond}, {offset, "+00:00"}])).

%% The entries of the node's text log since `Mark' (each begins `when=<time>').
log_since(Root, Mark) ->
    Entries = binary:split(msm_release:log_text(Root), <<"\nwhen=">>, [global]),
    [E || E0 <- Entries, E <- [strip_when(E0)], E >= Mark].

strip_when(<<"when=", Rest/binary>>) -> Rest;
strip_when(Entry) -> Entry.

logged(Root, Mark, What) ->
    [E || E <- log_since(Root, Mark), msm_test:contains(E, ["what=", What, " "])].

rpc(Root, M, F, A) ->
    msm_release:rpc(Root, M, F, A).

%% Registers the traffic's two users, unless an earlier case did.
users(Root) ->
    [case msm_release:ctl(Root, ["account", "registerUser", "--domain", "localhost",
                                 "--username", U, "--password", "secretpw"]) of
         {0, _} -> ok;
         {_, Out} -> ?assert(msm_test:contains(Out, "already registered"))
     end || U <- ["alice", "bob"]],
    ok.

%% Logs both users in and sends N messages each way; skips without the traffic tool.
traffic(Root, N) ->
    case os:getenv("MONGOOSEIM_TRAFFIC") of
        false ->
            {skip, "no XMPP traffic tool: set MONGOOSEIM_TRAFFIC to the release build's bin/xmpp-traffic"};
        Tool ->
            {ok, Toml} = file:read_file(filename:join([Root, "etc", "mongooseim.toml"])),
            {match, [Port]} = re:run(Toml, "\\[\\[listen\\.c2s\\]\\]\\s*port = ([0-9]+)", [{capture, all_but_first, list}]),
            {0, Out} = msm_release:run(Tool, [Port, "alice", "bob", "secretpw", "--messages", integer_to_list(N)]),
            ct:pal("traffic: ~s", [Out]),
            ok
    end.

report_now(Root) ->
    {ok, Report} = rpc(Root, ?SERVICE, report_now, []),
    msm_test:decoded(Report).

events(Name, #{<<"events">> := Events}) ->
    [P || #{<<"name">> := N, <<"params">> := P} <- Events, N =:= Name].

stanza_totals(Report) ->
    maps:from_list([{T, Total} || #{<<"stanza_type">> := T, <<"total">> := Total} <- events(<<"xmpp_stanza_count">>, Report)]).

%% What MongooseIM's own collector, shipped in the release, reports at this moment, as
%% its service calls it: collect(PrevReport) up to 6.3, collect(PrevReport, true) in 6.4
%% and 6.5 (whether exometer is configured), collect(PrevReport, Backend) from 6.6.
own_report(Root) ->
    {module, _} = rpc(Root, code, ensure_loaded, [mongoose_system_metrics_collector]),
    case rpc(Root, erlang, function_exported, [mongoose_system_metrics_collector, collect, 1]) of
        true ->
            rpc(Root, mongoose_system_metrics_collector, collect, [[]]);
        false ->
            {ok, Vsn} = rpc(Root, application, get_key, [mongooseim, vsn]),
            Instrumentation = rpc(Root, mongoose_config, get_opt, [instrumentation]),
            Second = case Vsn of
                         "6.4" ++ _ -> maps:is_key(exometer, Instrumentation);
                         "6.5" ++ _ -> maps:is_key(exometer, Instrumentation);
                         _ when is_map_key(prometheus, Instrumentation) -> prometheus;
                         _ when is_map_key(exometer, Instrumentation) -> exometer;
                         _ -> none
                     end,
            rpc(Root, mongoose_system_metrics_collector, collect, [[], Second])
    end.

own_stanza_totals(Root) ->
    Own = own_report(Root),
    maps:from_list([{atom_to_binary(T), Total} || #{name := xmpp_stanza_count,
                                                    params := #{stanza_type := T, total := Total}} <- Own]).

%% Cases.

%% The README's install: after `install' and a restart the node runs this project's
%% module, from the release's lib/, and status/0 says which implementation runs.
the_installed_module_runs_and_says_so(Config) ->
    Root = ?config(root, Config),
    configure(Config, Root, section(Config, "  report = true\n")),
    start(Root),
    Which = rpc(Root, code, which, [?SERVICE]),
    [Lib] = filelib:wildcard(filename:join([Root, "lib", "mongoose_system_metrics-*"])),
    ?assertEqual(filename:join([Lib, "ebin", "service_mongoose_system_metrics.beam"]), Which),
    ?assertEqual(filename:join(Lib, "priv"), rpc(Root, code, priv_dir, [mongoose_system_metrics])),
    #{implementation := <<"mongoose_system_metrics">>, version := Vsn, mode := on} = rpc(Root, ?SERVICE, status, []),
    ?assertEqual(filename:join(Root, "lib/mongoose_system_metrics-" ++ binary_to_list(Vsn)), Lib),
    %% The operator command, in MongooseIM's node-name form.
    Node = atom_to_list(msm_release:node_name(Root)),
    {0, Json} = msm_release:run(msm_release:ctl_path(), ["--node", Node, "status"],
                                #{env => [{"MONGOOSEIM_COOKIE", atom_to_list(msm_release:cookie(Root))}]}),
    ?assertMatch(#{<<"implementation">> := <<"mongoose_system_metrics">>, <<"mode">> := <<"on">>}, msm_json:decode(Json)).

%% MongooseIM's own TOML parser, from the running release, takes a section with every
%% option and gives start/1 what it expects; it refuses unknown keys and wrong types.
mongooseim_s_parser_takes_every_option(Config) ->
    Root = ?config(root, Config),
    configure(Config, Root, section(Config, "  report = true\n")),
    start(Root),
    Dir = ?config(priv_dir, Config),
    Parse = fun(Section) ->
                    File = filename:join(Dir, "parse-" ++ integer_to_list(erlang:unique_integer([positive])) ++ ".toml"),
                    {ok, Base} = file:read_file(filename:join([Root, "etc", "mongooseim.toml"])),
                    [Head | _] = binary:split(Base, <<"\n[services.service_mongoose_system_metrics]">>),
                    ok = file:write_file(File, [Head, "\n[services.service_mongoose_system_metrics]\n", Section]),
                    try rpc(Root, mongoose_config_parser_toml, parse_file, [File]) of
                        State ->
                            Opts = rpc(Root, mongoose_config_parser, get_opts, [State]),
                            {services, #{?SERVICE := Parsed}} = lists:keyfind(services, 1, Opts),
                            {ok, Parsed}
                    catch
                        error:{exception, {config_error, _, Errors}, _} -> {error, Errors}
                    end
            end,
    Every = "  report = true\n  initial_report = 1000\n  periodic_report = 60_000\n"
            "  google_analytics_url = \"https://region1.google-analytics.com\"\n"
            "  report_file = \"log/usage.json\"\n  ca_bundle = \"/etc/ssl/certs/ca-certificates.crt\"\n"
            "  tracking_id.id = \"G-OPERATOR1\"\n  tracking_id.secret = \"operator-secret-123\"\n",
    {ok, Parsed} = Parse(Every),
    ?assertEqual(#{report => true, initial_report => 1000, periodic_report => 60000,
                   google_analytics_url => "https://region1.google-analytics.com",
                   report_file => "log/usage.json", ca_bundle => "/etc/ssl/certs/ca-certificates.crt",
                   tracking_id => #{id => "G-OPERATOR1", secret => "operator-secret-123"}}, Parsed),
    %% What the parser gives, the service takes: validated, then not started again, as
    %% it runs already.
    ?assertMatch({error, {already_started, _}}, rpc(Root, ?SERVICE, start, [Parsed])),
    %% MongooseIM's default section, bare, parses too.
    {ok, #{}} = Parse(""),
    {error, [#{reason := unexpected_key, key := <<"google_analytics_urll">>} | _]} = Parse("  google_analytics_urll = \"x\"\n"),
    {error, [#{reason := Bad} | _]} = Parse("  report = \"maybe\"\n"),
    ct:pal("report = \"maybe\": ~p", [Bad]),
    {error, _} = Parse("  tracking_id.id = \"G-ONLYID\"\n"),
    {error, _} = Parse("  initial_report = -1\n").

%% Every event against what the node itself says: its configuration, its domain core,
%% its version, its cluster id and its counters.
the_report_matches_the_node(Config) ->
    Root = ?config(root, Config),
    configure(Config, Root, section(Config, "  report = true\n")),
    start(Root),
    Report = report_now(Root),
    HostTypes = rpc(Root, mongoose_config, get_opt, [hosts]) ++ rpc(Root, mongoose_config, get_opt, [host_types]),
    ?assertEqual([#{<<"value">> => length(HostTypes)}], events(<<"host_count">>, Report)),
    ?assertEqual([#{<<"value">> => rpc(Root, mongoose_domain_core, domains_count, [])}], events(<<"domain_count">>, Report)),
    [Cluster] = events(<<"cluster">>, Report),
    {ok, Vsn} = rpc(Root, application, get_key, [mongooseim, vsn]),
    ?assertMatch(#{<<"node_number">> := 1, <<"config_type">> := <<"toml">>, <<"component">> := 0}, Cluster),
    ?assertEqual(list_to_binary(Vsn), maps:get(<<"version">>, Cluster)),
    %% Modules: the release's are all open source, so each one enabled is named, and no
    %% other; none is counted as custom.
    Enabled = [atom_to_binary(M) || M <- maps:keys(rpc(Root, gen_mod, loaded_modules_with_opts, [<<"localhost">>]))],
    Named = [M || #{<<"module">> := M} <- events(<<"module_with_opt">>, Report)],
    ?assertEqual(lists:sort(Enabled), lists:usort(Named)),
    ?assertEqual([#{<<"value">> => 0}], events(<<"custom_module_count">>, Report)),
    ?assert(lists:member(#{<<"module">> => <<"mod_roster">>, <<"backend">> => <<"mnesia">>},
                         events(<<"module_with_opt">>, Report))),
    ?assertMatch([_], [P || P <- events(<<"outgoing_pool">>, Report), maps:get(<<"value">>, P) =:= <<"http">>]),
    %% One client id everywhere: MongooseIM's cluster id, and no id file of our own.
    {ok, ClusterId} = rpc(Root, mongoose_cluster_id, get_cached_cluster_id, []),
    ?assertEqual(ClusterId, maps:get(<<"client_id">>, Report)),
    #{client_id := StatusId} = rpc(Root, ?SERVICE, status, []),
    ?assertEqual(ClusterId, StatusId),
    {0, Json} = msm_release:run(msm_release:ctl_path(), ["--node", atom_to_list(msm_release:node_name(Root)), "status"],
                                #{env => [{"MONGOOSEIM_COOKIE", atom_to_list(msm_release:cookie(Root))}]}),
    ?assertMatch(#{<<"client_id">> := ClusterId}, msm_json:decode(Json)),
    Requests = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    ?assertEqual([ClusterId], lists:usort([Id || #{<<"json">> := #{<<"client_id">> := Id}} <- Requests])),
    Log = filename:join(Root, "log"),
    #{<<"client_id">> := FileId} = msm_test:read_json(filename:join(Log, "system_metrics_report.json")),
    ?assertEqual(ClusterId, FileId),
    {ok, SendLog} = file:read_file(filename:join(Log, "system_metrics_send_log.jsonl")),
    ?assert(msm_test:contains(SendLog, ClusterId)),
    ?assertNot(filelib:is_file(filename:join(Log, "system_metrics_client_id"))).

%% Parity: at one moment on the same node, MongooseIM's own collector (it ships in the
%% release) and the service's preview give the same events, parameters and values, but
%% for the deliberate differences listed as data, each of which must show its cause.
the_events_are_mongooseim_s_but_for_the_listed_differences(Config) ->
    Root = ?config(root, Config),
    configure(Config, Root, section(Config, "  report = true\n")),
    start(Root),
    users(Root),
    _ = traffic(Root, 1),
    {ok, Listed} = file:consult(filename:join(?config(data_dir, Config), "differences.eterm")),
    {ok, Doc} = file:read_file(filename:join([code:priv_dir(mongoose_system_metrics), "..", "..", "doc",
                                              "differences-from-mongooseim.md"])),
    [?assert(msm_test:contains(Doc, ["\n### ", atom_to_list(Id), "\n"]), Id) || {Id, _} <- Listed],
    Theirs = [{atom_to_binary(Name), plain(Params)}
              || #{name := Name, params := Params} <- own_report(Root)],
    {ok, Previewed} = rpc(Root, ?SERVICE, preview, []),
    #{<<"events">> := Preview} = msm_test:decoded(Previewed),
    Ours = [{Name, Params} || #{<<"name">> := Name, <<"params">> := Params} <- Preview],
    ct:pal("MongooseIM's collector:~n~p~nthe service's preview:~n~p", [Theirs, Ours]),
    %% Read a second apart at most: the uptimes may differ by that much.
    ?assert(abs(uptime_s(Theirs) - uptime_s(Ours)) =< 2),
    {Theirs1, Ours1} = lists:foldl(fun({Id, What}, Acc) -> allow(Root, Id, What, Acc) end,
                                   {without_uptime(Theirs), without_uptime(Ours)}, Listed),
    %% The README's table of what is sent names every event sent.
    {ok, Readme} = file:read_file(filename:join([code:priv_dir(mongoose_system_metrics), "..", "..", "README.md"])),
    [_, Table | _] = binary:split(Readme, [<<"## What is sent">>, <<"\nIt differs">>], [global]),
    [?assert(msm_test:contains(Table, ["`", Name, "`"]), Name) || Name <- lists:usort([N || {N, _} <- Ours])],
    Missing = lists:sort(Theirs1) -- lists:sort(Ours1),
    Extra = lists:sort(Ours1) -- lists:sort(Theirs1),
    ct:pal("not sent by the service: ~p~nsent by the service only: ~p", [Missing, Extra]),
    ?assertEqual({[], []}, {Missing, Extra}).

%% A listed difference: checked to have the cause its section gives, then taken out of
%% both reports.
allow(Root, node_number_counts_members = Id, {param, Event, Param}, {Theirs, Ours}) ->
    [Members] = [N || {E, #{Param := N}} <- Ours, E =:= Event],
    ?assertEqual({Id, length(rpc(Root, mnesia, system_info, [running_db_nodes]))}, {Id, Members}),
    {without_param(Event, Param, Theirs), without_param(Event, Param, Ours)};
allow(Root, open_source_modules_named = Id, {extra_events, Event}, {Theirs, Ours}) ->
    %% Modules without MongooseIM's behaviour: MongooseIM counts them as custom.
    Named = [E || {N, #{<<"module">> := M}} = E <- Ours, N =:= Event,
                  not lists:member(E, Theirs), not declares_module_metrics(Root, M)],
    ?assertNotEqual({Id, []}, {Id, Named}),
    put(named_open_source_modules, length(Named)),
    {Theirs, Ours -- Named};
allow(_Root, custom_module_count = Id, {param, Event, Param}, {Theirs, Ours}) ->
    [Original] = [N || {E, #{Param := N}} <- Theirs, E =:= Event],
    [Counted] = [N || {E, #{Param := N}} <- Ours, E =:= Event],
    ?assertEqual({Id, Original - get(named_open_source_modules)}, {Id, Counted}),
    {without_param(Event, Param, Theirs), without_param(Event, Param, Ours)}.

declares_module_metrics(Root, Module) ->
    Attributes = rpc(Root, binary_to_atom(Module), module_info, [attributes]),
    lists:member(mongoose_module_metrics, proplists:get_value(behaviour, Attributes, []) ++
                                          proplists:get_value(behavior, Attributes, [])).

without_param(Event, Param, Events) ->
    [case E of Event -> {E, maps:remove(Param, P)}; _ -> {E, P} end || {E, P} <- Events].

without_uptime(Events) ->
    without_param(<<"cluster">>, <<"uptime">>, Events).

uptime_s(Events) ->
    [Uptime] = [U || {<<"cluster">>, #{<<"uptime">> := U}} <- Events],
    {match, [D, H, M, S]} = re:run(Uptime, "^([0-9]+)-([0-9]{2}):([0-9]{2}):([0-9]{2})$", [{capture, all_but_first, list}]),
    ((list_to_integer(D) * 24 + list_to_integer(H)) * 60 + list_to_integer(M)) * 60 + list_to_integer(S).

%% MongooseIM's parameters as JSON gives them: binary keys, and atoms as binaries.
plain(Params) ->
    maps:from_list([{text(K), case V of _ when is_integer(V) -> V; _ -> text(V) end} || {K, V} <- maps:to_list(Params)]).

text(A) when is_atom(A) -> atom_to_binary(A);
text(B) when is_binary(B) -> B;
text(L) when is_list(L) -> list_to_binary(L).

%% The six totals equal those of MongooseIM's own collector at the same moment (exometer,
%% MongooseIM 6.3 names), and increments follow the traffic.
stanza_totals_equal_mongooseim_s_own(Config) ->
    Root = ?config(root, Config),
    configure(Config, Root, section(Config, "  report = true\n")),
    start(Root),
    users(Root),
    case traffic(Root, 3) of
        {skip, _} = Skip -> Skip;
        ok ->
            Before = report_now(Root),
            Totals = stanza_totals(Before),
            ?assertEqual(own_stanza_totals(Root), Totals),
            ?assertEqual(6, map_size(Totals)),
            ?assert(maps:get(<<"xmppMessageSent">>, Totals) >= 6),
            ok = traffic(Root, 2),
            After = report_now(Root),
            ?assertEqual(own_stanza_totals(Root), stanza_totals(After)),
            [Sent] = [P || #{<<"stanza_type">> := <<"xmppMessageSent">>} = P <- events(<<"xmpp_stanza_count">>, After)],
            ?assertEqual(#{<<"stanza_type">> => <<"xmppMessageSent">>,
                           <<"total">> => maps:get(<<"xmppMessageSent">>, Totals) + 4, <<"increment">> => 4}, Sent)
    end.

%% With Prometheus and exometer both configured, the service reads Prometheus (as
%% MongooseIM does); MongooseIM 6.3's collector reads exometer: the same events counted
%% twice must give the same totals.
prometheus_totals_equal_mongooseim_s_own(Config) ->
    Root = ?config(root, Config),
    configure(Config, Root, section(Config, "  report = true\n"), "[instrumentation.exometer]\n[instrumentation.prometheus]"),
    start(Root),
    #{prometheus := _, exometer := _} = rpc(Root, mongoose_config, get_opt, [instrumentation]),
    users(Root),
    case traffic(Root, 2) of
        {skip, _} = Skip -> Skip;
        ok ->
            Totals = stanza_totals(report_now(Root)),
            ?assertEqual(own_stanza_totals(Root), Totals),
            ?assert(maps:get(<<"xmppMessageSent">>, Totals) >= 4)
    end.

%% The operator guide's "Report to your own server instead of Google", on the real node:
%% its service reports to mongoose_usage_server, which keeps exactly what the node sent
%% (MongooseIM's cluster id, version, modules, traffic), stores nothing for MongooseIM's
%% own property (a stream it does not know), and whose dashboard, in a real headless
%% Chromium, draws it.
the_node_reports_to_its_own_usage_server(Config) ->
    Root = ?config(root, Config),
    Dir = msm_test:fresh_dir(Config, "usage_server"),
    Server = usage_server_port:start(["--database", "sqlite:" ++ filename:join(Dir, "usage.sqlite3"),
                                      "--stream", "G-OWNSERVER1=AbCdEf0123456789"]),
    try
        configure(Config, Root, ["  google_analytics_url = \"", usage_server_port:url(Server), "\"\n",
                                 "  initial_report = 600_000\n  report = true\n",
                                 "  tracking_id.id = \"G-OWNSERVER1\"\n",
                                 "  tracking_id.secret = \"AbCdEf0123456789\"\n"]),
        start(Root),
        users(Root),
        _ = traffic(Root, 3),
        #{<<"client_id">> := Id, <<"events">> := Events} = Report = report_now(Root),
        {ok, ClusterId} = rpc(Root, mongoose_cluster_id, get_cached_cluster_id, []),
        ?assertEqual(ClusterId, Id),
        {ok, Vsn} = rpc(Root, application, get_key, [mongooseim, vsn]),
        [#{<<"client_id">> := Id, <<"version">> := Version, <<"node_count">> := 1, <<"reports">> := 1}] =
            usage_server_port:get_json(Server, "/api/deployments"),
        ?assertEqual(list_to_binary(Vsn), Version),
        #{<<"reports">> := [#{<<"events">> := Kept}]} =
            usage_server_port:get_json(Server, "/api/deployments/" ++ binary_to_list(Id)),
        ?assertEqual([maps:with([<<"name">>, <<"params">>], E) || E <- Events], Kept),
        Modules = usage_server_port:get_json(Server, "/api/charts/modules"),
        ?assertEqual(lists:sort([{M, maps:get(<<"backend">>, P, <<>>)} || #{<<"module">> := M} = P <- events(<<"module_with_opt">>, Report)]),
                     lists:sort([{M, B} || #{<<"module">> := M, <<"backend">> := B, <<"deployments">> := 1} <- Modules])),
        {200, Metrics} = usage_server_port:get(Server, "/metrics"),
        ?assert(msm_test:contains(Metrics, "mongoose_usage_rejected_total{reason=\"unknown_stream\"}")),
        usage_dashboard:check(Server, [Report], Dir, filename:join(?config(priv_dir, Config), "usage-dashboard.png"))
    after
        usage_server_port:stop(Server)
    end.

%% Without a tracking id of the operator's, reports go to MongooseIM's own GA4 property:
%% the production one, or the CI one when CI=true, as MongooseIM decides.
reports_go_to_mongooseim_s_property_by_default(Config) ->
    Root = ?config(root, Config),
    Collector = ?config(collector, Config),
    configure(Config, Root, section(Config, "  report = true\n")),
    [begin
         ga4_collector_port:clear(Collector),
         start(Root, [{"CI", Ci}]),
         #{destinations := Destinations} = rpc(Root, ?SERVICE, status, []),
         ?assertEqual([Expected], Destinations),
         #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]} = report_now(Root),
         Requests = ga4_collector_port:wait_for_requests(Collector, <<"/mp/collect">>, 1),
         Ids = lists:usort([Id || #{<<"measurement_id">> := Id} <- Requests]),
         ?assertEqual([[]], lists:usort([P || #{<<"problems">> := P} <- Requests])),
         ?assertEqual([Expected], Ids),
         stop_quietly(Root)
     end || {Ci, Expected} <- [{false, ?PRODUCTION}, {"true", ?CI_PROPERTY}, {"yes", ?PRODUCTION}]].

%% MongooseIM's own test suites point its service at their server with
%% mongoose_config:set_opt(google_analytics_url, Url) and restart it; so can they this one.
mongooseim_s_own_url_setting_is_honoured(Config) ->
    Root = ?config(root, Config),
    Collector = ?config(collector, Config),
    configure(Config, Root, "  report = true\n  initial_report = 600_000\n"),
    start(Root),
    ok = rpc(Root, mongoose_config, set_opt, [google_analytics_url, ga4_collector_port:url(Collector) ++ "/mp/collect"]),
    ok = rpc(Root, ?SERVICE, stop, []),
    {ok, _} = rpc(Root, ?SERVICE, start, [#{report => true, initial_report => 600000, periodic_report => 10800000}]),
    #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]} = report_now(Root),
    ?assertMatch([_ | _], ga4_collector_port:wait_for_requests(Collector, <<"/mp/collect">>, 1)).

%% A packager who sets no built-in destination, and an operator who adds none: the node
%% says so once, its notice does not claim a report is sent, and nothing is sent.
no_destination_is_said_not_claimed(Config) ->
    Root = ?config(root, Config),
    configure(Config, Root, section(Config, "")),
    {_, Files} = lists:keyfind(Root, 1, ?config(saved, Config)),
    VmArgs = filename:join([Root, "etc", "vm.args"]),
    {ok, Installed} = file:read_file(VmArgs),
    ok = file:write_file(VmArgs, [Installed, "-mongoose_system_metrics default_tracking_id none\n"]),
    try
        Mark = start(Root),
        #{mode := local, mode_reason := Why, destinations := []} = rpc(Root, ?SERVICE, status, []),
        ?assert(msm_test:contains(Why, "no destination")),
        [Notice] = logged(Root, Mark, "report_transparency"),
        ?assert(msm_test:contains(Notice, "nothing is sent")),
        ?assertNot(msm_test:contains(Notice, "sends an anonymous usage report")),
        ?assertMatch([_], [E || E <- log_since(Root, Mark), msm_test:contains(E, "no destination")]),
        #{<<"destinations">> := []} = report_now(Root),
        ?assertEqual([], ga4_collector_port:requests(?config(collector, Config)))
    after
        ok = file:write_file(VmArgs, Installed)
    end,
    ?assert(lists:keymember("etc/vm.args", 1, Files)).

%% The README's consent table, through etc/mongooseim.toml of a real node: the notices
%% MongooseIM's own tests look for ("MongooseIM docs"), once, with their location.
consent_through_mongooseim_toml(Config) ->
    Root = ?config(root, Config),
    Collector = ?config(collector, Config),
    Cases = [{absent, absent, "system_metrics_disabled", off},
             {report_false, section(Config, "  report = false\n"), none, off},
             {no_report_key, section(Config, ""), "report_transparency", on},
             {report_true, section(Config, "  report = true\n"), none, on}],
    [begin
         configure(Config, Root, Section),
         Mark = start(Root),
         Notices = [E || E <- log_since(Root, Mark), msm_test:contains(E, "MongooseIM docs")],
         case Expected of
             none ->
                 ?assertEqual({Name, []}, {Name, Notices});
             What ->
                 ?assertMatch({Name, [_]}, {Name, Notices}),
                 [Notice] = Notices,
                 ?assert(msm_test:contains(Notice, ["what=", What])),
                 %% MongooseIM's log format shows where the event was logged.
                 ?assertMatch({match, _}, re:run(Notice, " at=mongoose_system_metrics_notice:[a-z_]+/[0-9]+:[0-9]+ "))
         end,
         #{mode := Mode} = rpc(Root, ?SERVICE, status, []),
         ?assertEqual({Name, Running}, {Name, Mode}),
         case Running of
             off ->
                 ?assertEqual(undefined, rpc(Root, erlang, whereis, [?SERVICE]));
             on ->
                 ?assert(is_pid(rpc(Root, erlang, whereis, [?SERVICE])))
         end,
         stop_quietly(Root)
     end || {Name, Section, Expected, Running} <- Cases],
    ?assertEqual([], ga4_collector_port:requests(Collector)).

%% An option MongooseIM's parser lets through but the service refuses: the node runs
%% on, the error is logged once with the option's name, and status/0 names it.
a_refused_option_is_named(Config) ->
    Root = ?config(root, Config),
    configure(Config, Root, section(Config, "  periodic_report = 0\n")),
    Mark = start(Root),
    [Logged] = logged(Root, Mark, "system_metrics_invalid_options"),
    ?assert(msm_test:contains(Logged, "level=error")),
    ?assert(msm_test:contains(Logged, "periodic_report")),
    #{mode := off, refused_start := Why} = rpc(Root, ?SERVICE, status, []),
    ?assert(msm_test:contains(Why, "periodic_report")),
    ?assertEqual(<<"started">>, string:trim(element(2, {ok, _} = file:read_file(filename:join([Root, "var", "status"]))))).

%% MongooseIM stops the service from its application's prep_stop, while the application
%% controller is busy stopping it. Stopping MongooseIM with the service takes no longer
%% than without it, and logs nothing at error level.
stopping_mongooseim_is_not_slowed(Config) ->
    Root = ?config(root, Config),
    Measure = fun(Section) ->
                      configure(Config, Root, Section),
                      Mark = start(Root),
                      {Us, ok} = rpc(Root, timer, tc, [application, stop, [mongooseim]]),
                      Errors = [E || E <- log_since(Root, Mark), msm_test:contains(E, "level=error")],
                      stop_quietly(Root),
                      {Us div 1000, Errors}
              end,
    {With, ErrorsWith} = Measure(section(Config, "")),
    {Without, ErrorsWithout} = Measure(absent),
    ct:pal("application:stop(mongooseim): ~b ms with the service, ~b ms without", [With, Without]),
    ?assertEqual([], ErrorsWith),
    ?assertEqual([], ErrorsWithout),
    %% MongooseIM's stall was 5 s; the margin leaves room for a busy machine.
    ?assert(With =< Without + 2000).

%% Two real nodes joined with mongooseimctl: the cluster reports once per period, with
%% both nodes counted and one client id; when the reporting node stops the other takes
%% over; a node that leaves reports on its own.
one_report_per_period_for_a_two_node_cluster(Config) ->
    [Root1, Root2] = [?config(root, Config), ?config(root2, Config)],
    Collector = ?config(collector, Config),
    Period = 4000,
    Section = section(Config, ["  report = true\n  initial_report = 1000\n  periodic_report = ", integer_to_list(Period), "\n"]),
    [configure(Config, R, Section) || R <- [Root1, Root2]],
    %% Periods of seconds: below the floor of a minute, which only tests lower.
    VmArgs = [{R, filename:join([R, "etc", "vm.args"])} || R <- [Root1, Root2]],
    Installed = [{Path, element(2, {ok, _} = file:read_file(Path))} || {_, Path} <- VmArgs],
    [ok = file:write_file(Path, [Bytes, "-mongoose_system_metrics min_periodic_report 1000\n"]) || {Path, Bytes} <- Installed],
    try
        cluster_case(Config, Root1, Root2, Collector, Period)
    after
        [ok = file:write_file(Path, Bytes) || {Path, Bytes} <- Installed]
    end.

cluster_case(_Config, Root1, Root2, Collector, Period) ->
    start(Root1),
    start(Root2),
    {JoinUs, {0, JoinOut}} = timer:tc(fun() -> msm_release:ctl(Root2, ["join_cluster", "-f", atom_to_list(msm_release:node_name(Root1))]) end),
    ct:pal("join_cluster: ~b ms~n~s", [JoinUs div 1000, JoinOut]),
    ok = msm_release:connect(Root2),
    Running = rpc(Root1, mnesia, system_info, [running_db_nodes]),
    ?assertEqual(2, length(Running)),
    %% Both services run; the first node reports for both.
    [#{mode := on} = rpc(R, ?SERVICE, status, []) || R <- [Root1, Root2]],
    ?assertMatch(#{reporter := true}, rpc(Root1, ?SERVICE, status, [])),
    ?assertMatch(#{reporter := false}, rpc(Root2, ?SERVICE, status, [])),
    ga4_collector_port:clear(Collector),
    Received = msm_test:wait_until("three reports of the cluster",
                                   fun() -> case received(Collector) of [_, _, _ | _] = R -> R; _ -> false end end,
                                   5 * Period),
    ct:pal("reports received: ~p", [Received]),
    %% One report per period: had both nodes reported, two of three reports in a row would
    %% be half a period apart or less.
    Times = [T || {T, _, _} <- Received],
    [?assert(Later - Earlier > Period div 2, Times) || {Earlier, Later} <- lists:zip(lists:droplast(Times), tl(Times))],
    Cycles = [{Id, N} || {_, Id, N} <- Received],
    {ok, ClusterId} = rpc(Root1, mongoose_cluster_id, get_cached_cluster_id, []),
    ?assertEqual({ok, ClusterId}, rpc(Root2, mongoose_cluster_id, get_cached_cluster_id, [])),
    ?assertEqual([{ClusterId, 2}], lists:usort([{Id, N} || {Id, N} <- Cycles])),
    ?assertEqual(ClusterId, maps:get(client_id, rpc(Root2, ?SERVICE, status, []))),
    %% The reporting node stops: the other one takes over within a period or so.
    stop_quietly(Root1),
    ga4_collector_port:clear(Collector),
    msm_test:wait_until("a report from the second node", fun() -> cycles(Collector) =/= [] end),
    ?assertMatch([{ClusterId, 1} | _], cycles(Collector)),
    %% The first node comes back, the second leaves: each reports on its own.
    start(Root1),
    msm_test:wait_until("the first node back in the cluster",
                        fun() -> length(rpc(Root2, mnesia, system_info, [running_db_nodes])) =:= 2 end),
    {0, LeaveOut} = msm_release:ctl(Root2, ["leave_cluster", "-f"]),
    ct:pal("leave_cluster:~n~s", [LeaveOut]),
    ok = msm_release:connect(Root2),
    [Node1, Node2] = [msm_release:node_name(R) || R <- [Root1, Root2]],
    ?assertEqual([Node1], rpc(Root1, mnesia, system_info, [db_nodes])),
    ?assertEqual([Node2], rpc(Root2, mnesia, system_info, [db_nodes])),
    ?assertMatch(#{reporter := true, mode := on}, rpc(Root2, ?SERVICE, status, [])),
    ?assertMatch(#{reporter := true, mode := on}, rpc(Root1, ?SERVICE, status, [])),
    %% Still connected over distribution, each reports for itself: two client ids, one node
    %% each.
    ga4_collector_port:clear(Collector),
    msm_test:wait_until("a report from each node",
                        fun() -> length(lists:usort([Id || {Id, _} <- cycles(Collector)])) >= 2 end,
                        3 * Period),
    Apart = lists:usort(cycles(Collector)),
    ct:pal("after the leave: ~p", [Apart]),
    ?assertMatch([{_, 1}, {_, 1}], Apart),
    {ok, Id1} = rpc(Root1, mongoose_cluster_id, get_cached_cluster_id, []),
    {ok, Id2} = rpc(Root2, mongoose_cluster_id, get_cached_cluster_id, []),
    ?assertEqual(lists:sort([Id1, Id2]), [Id || {Id, _} <- Apart]).

%% The reports received, one per cycle: {client id, node_number}, oldest first.
cycles(Collector) ->
    [{Id, N} || {_, Id, N} <- received(Collector)].

%% The same with the time each was received: {received_ms, client id, node_number}.
received(Collector) ->
    [{T, Id, N} || #{<<"received_ms">> := T, <<"json">> := #{<<"client_id">> := Id, <<"events">> := Events}}
                       <- ga4_collector_port:requests(Collector),
                   #{<<"name">> := <<"cluster">>, <<"params">> := #{<<"node_number">> := N}} <- Events].
