%% @doc A node's service reporting to the project's own usage server, the real binary, on
%% SQLite and on a real PostgreSQL (`scripts/with-postgres.sh' starts one for the test run
%% and names it in `MONGOOSE_USAGE_TEST_POSTGRES'; without it that group skips, saying so):
%% what the node sent is what the server keeps and gives back, a stream it does not know is
%% stored nowhere, a report acknowledged before a `kill -9' is still there after, and the
%% dashboard, in a real headless Chromium, draws what the node sent.
-module(usage_server_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(SERVICE, service_mongoose_system_metrics).
%% The stream of the operator guide's example ("Report to your own server instead of Google").
-define(STREAM, "G-OWNSERVER1").
-define(SECRET, "AbCdEf0123456789").

all() ->
    [{group, sqlite}, {group, postgresql}].

groups() ->
    Cases = [a_node_reports_to_its_own_server,
             a_stream_the_server_does_not_know_is_stored_nowhere,
             an_acknowledged_report_survives_a_kill],
    [{sqlite, [], Cases ++ [the_dashboard_draws_what_the_node_sent]},
     {postgresql, [], Cases}].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(mongoose_system_metrics),
    ?assert(filelib:is_regular(usage_server_port:binary_path()),
            "build it first: cargo build --release -p mongoose_usage_server"),
    Config.

end_per_suite(_Config) ->
    ok.

init_per_group(postgresql, Config) ->
    case os:getenv("MONGOOSE_USAGE_TEST_POSTGRES") of
        false -> {skip, "MONGOOSE_USAGE_TEST_POSTGRES is not set: run under scripts/with-postgres.sh for the PostgreSQL half"};
        "" -> {skip, "MONGOOSE_USAGE_TEST_POSTGRES is empty"};
        Url -> [{postgres, Url} | Config]
    end;
init_per_group(sqlite, Config) ->
    Config.

end_per_group(_Group, _Config) ->
    ok.

init_per_testcase(Case, Config) ->
    Dir = msm_test:fresh_dir(Config, atom_to_list(Case)),
    [{dir, Dir}, {database, database(Case, Dir, proplists:get_value(postgres, Config))} | Config].

end_per_testcase(_Case, Config) ->
    ok = ?SERVICE:stop(),
    case get(server) of
        undefined -> ok;
        Server -> _ = catch usage_server_port:stop(Server), erase(server)
    end,
    application:unset_env(mongoose_system_metrics, product_application),
    Config.

%% A fresh SQLite file, or a fresh PostgreSQL database of the test run's server.
database(_Case, Dir, undefined) ->
    "sqlite:" ++ filename:join(Dir, "usage.sqlite3");
database(Case, _Dir, Url) ->
    Name = io_lib:format("~s_~b", [Case, erlang:unique_integer([positive])]),
    Out = os:cmd(lists:flatten(io_lib:format("psql '~s' -v ON_ERROR_STOP=1 -qc 'CREATE DATABASE ~s' 2>&1", [Url, Name]))),
    ?assertEqual("", Out),
    [Base | _] = string:split(Url, "/", trailing),
    lists:flatten([Base, "/", Name]).

start_server(Config) ->
    Server = usage_server_port:start(["--database", ?config(database, Config),
                                      "--stream", ?STREAM ++ "=" ++ ?SECRET]),
    put(server, Server),
    Server.

%% The service of this node, reporting to the server as the operator guide says.
start_service(Config, Server, TrackingId) ->
    Options = #{google_analytics_url => usage_server_port:url(Server),
                tracking_id => TrackingId,
                report => true,
                initial_report => 600000,
                report_file => filename:join(?config(dir, Config), "system_metrics_report.json")},
    {ok, _} = ?SERVICE:start(Options).

report_now() ->
    {ok, Report} = ?SERVICE:report_now(),
    Decoded = msm_test:decoded(Report),
    ?assertMatch(#{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}, Decoded),
    Decoded.

%% A metric's value from /metrics, 0 when absent.
metric(Server, Line) ->
    {200, Text} = usage_server_port:get(Server, "/metrics"),
    Values = [binary_to_integer(V) || L <- binary:split(Text, <<"\n">>, [global]),
                                       [Name, V] <- [binary:split(L, <<" ">>)], Name =:= list_to_binary(Line)],
    lists:sum(Values).

params_of(Name, #{<<"events">> := Events}) ->
    [P || #{<<"name">> := N, <<"params">> := P} <- Events, N =:= Name].

%% Cases.

a_node_reports_to_its_own_server(Config) ->
    Server = start_server(Config),
    start_service(Config, Server, #{id => ?STREAM, secret => ?SECRET}),
    #{<<"client_id">> := Id, <<"events">> := Events, <<"event_count">> := Count} = Report = report_now(),
    ?assertMatch(#{client_id := Id}, ?SERVICE:status()),
    [Cluster] = params_of(<<"cluster">>, Report),
    %% The deployment, as the API gives it.
    [#{<<"client_id">> := Id, <<"stream">> := <<?STREAM>>, <<"reports">> := 1} = Deployment] =
        usage_server_port:get_json(Server, "/api/deployments"),
    ?assertEqual(maps:get(<<"version">>, Cluster, null), maps:get(<<"version">>, Deployment)),
    ?assertEqual(maps:get(<<"node_number">>, Cluster), maps:get(<<"node_count">>, Deployment)),
    %% Event by event, what the node sent.
    #{<<"client_id">> := Id, <<"reports">> := [#{<<"protocol">> := <<"ga4">>, <<"events">> := Kept}]} =
        usage_server_port:get_json(Server, "/api/deployments/" ++ binary_to_list(Id)),
    ?assertEqual([maps:with([<<"name">>, <<"params">>], E) || E <- Events], Kept),
    ?assertEqual(Count, metric(Server, "mongoose_usage_events_stored_total")),
    %% The modules chart counts this deployment once for each module it runs.
    Modules = usage_server_port:get_json(Server, "/api/charts/modules"),
    ?assertEqual(lists:sort([{M, maps:get(<<"backend">>, P, <<>>), 1}
                             || #{<<"module">> := M} = P <- params_of(<<"module_with_opt">>, Report)]),
                 lists:sort([{M, B, N} || #{<<"module">> := M, <<"backend">> := B, <<"deployments">> := N} <- Modules])),
    %% A second report is a second report of the same deployment.
    report_now(),
    [#{<<"client_id">> := Id, <<"reports">> := 2}] = usage_server_port:get_json(Server, "/api/deployments").

a_stream_the_server_does_not_know_is_stored_nowhere(Config) ->
    Server = start_server(Config),
    %% Answered as Google answers (the service sees it delivered), kept nowhere, counted.
    start_service(Config, Server, #{id => "G-NOTASTREAM", secret => ?SECRET}),
    report_now(),
    ?assertEqual([], usage_server_port:get_json(Server, "/api/deployments")),
    ?assertEqual(0, metric(Server, "mongoose_usage_events_stored_total")),
    ?assert(metric(Server, "mongoose_usage_rejected_total{reason=\"unknown_stream\"}") >= 1),
    %% A wrong secret for a known stream, likewise.
    ok = ?SERVICE:stop(),
    start_service(Config, Server, #{id => ?STREAM, secret => "NotTheSecret0"}),
    report_now(),
    ?assertEqual([], usage_server_port:get_json(Server, "/api/deployments")),
    ?assert(metric(Server, "mongoose_usage_rejected_total{reason=\"wrong_secret\"}") >= 1).

an_acknowledged_report_survives_a_kill(Config) ->
    Server = start_server(Config),
    start_service(Config, Server, #{id => ?STREAM, secret => ?SECRET}),
    #{<<"client_id">> := Id, <<"event_count">> := Count} = report_now(),
    %% The report was acknowledged: the server dies at once, as in a crash.
    ?assertEqual(137, usage_server_port:kill(Server)),
    erase(server),
    Restarted = start_server(Config),
    [#{<<"client_id">> := Id, <<"reports">> := 1}] = usage_server_port:get_json(Restarted, "/api/deployments"),
    #{<<"reports">> := [#{<<"events">> := Kept}]} =
        usage_server_port:get_json(Restarted, "/api/deployments/" ++ binary_to_list(Id)),
    ?assertEqual(Count, length(Kept)).

the_dashboard_draws_what_the_node_sent(Config) ->
    %% The node names a product version, so that the versions chart has a bar.
    ok = application:set_env(mongoose_system_metrics, product_application, mongoose_system_metrics),
    Server = start_server(Config),
    start_service(Config, Server, #{id => ?STREAM, secret => ?SECRET}),
    Report = report_now(),
    usage_dashboard:check(Server, [Report], ?config(dir, Config),
                          filename:join(?config(priv_dir, Config), "usage-dashboard.png")).
