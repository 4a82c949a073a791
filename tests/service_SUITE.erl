%% @doc The real service, started as MongooseIM starts it, reporting to the local
%% collector: events, destinations, timers, the report file and failures.
-module(service_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(SERVICE, service_mongoose_system_metrics).

all() ->
    [{group, map_options}, {group, proplist_options}, {group, lifecycle}].

groups() ->
    Reporting = [a_report_arrives_with_the_right_events,
                 the_built_in_and_the_operator_destination_both_receive_it,
                 the_first_report_waits_for_initial_report,
                 reports_repeat_every_periodic_report,
                 the_file_matches_what_was_sent],
    [{map_options, [], Reporting},
     {proplist_options, [], Reporting},
     {lifecycle, [], [the_default_timers_are_5_minutes_then_3_hours,
                      report_false_sends_nothing_and_starts_nothing,
                      no_secret_in_the_state_or_the_child_spec,
                      the_built_in_destination_is_mongooseim_s_only_inside_mongooseim,
                      a_slow_collector_cannot_make_a_cycle_outlast_the_period,
                      stop_answers_the_callers_waiting_for_a_report,
                      a_collector_that_is_down_leaves_the_service_running,
                      a_collector_answering_500_leaves_the_service_running,
                      an_unwritable_report_file_is_logged_and_reporting_goes_on,
                      the_client_id_survives_a_restart_of_the_service,
                      stop_ends_the_timers,
                      a_second_start_is_refused,
                      preview_shows_the_next_report_and_sends_nothing,
                      api_answers_when_the_service_is_not_running]}].

init_per_suite(Config) ->
    msm_test:fast_retries(),
    msm_test:test_environment(),
    Config.

end_per_suite(_Config) ->
    msm_test:default_retries().

init_per_group(Group, Config) ->
    [{shape, Group} | Config].

end_per_group(_Group, _Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    msm_test:set_env(product_application, mongoose_system_metrics),
    msm_test:init_case(Config, "service").

end_per_testcase(_Case, Config) ->
    msm_test:end_case(Config).

%% The options in the shape of the group: a map (TOML) or a legacy proplist.
options(Config, Extra) ->
    Map = msm_test:options(?config(collector, Config), ?config(dir, Config), Extra),
    case proplists:get_value(shape, Config) of
        proplist_options -> [case {K, V} of {report, true} -> report; _ -> {K, V} end
                             || {K, V} <- maps:to_list(Map)];
        _ -> Map
    end.

start(Config, Extra) when is_map(Extra) ->
    {ok, Pid} = ?SERVICE:start(options(Config, Extra)),
    Pid;
start(_Config, Options) ->
    {ok, Pid} = ?SERVICE:start(Options),
    Pid.

report_file(Config) ->
    filename:join(?config(dir, Config), "system_metrics_report.json").

a_report_arrives_with_the_right_events(Config) ->
    start(Config, #{initial_report => 50}),
    [#{<<"json">> := #{<<"client_id">> := ClientId, <<"events">> := Events}, <<"problems">> := []}] =
        ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    ?assert(msm_test:is_uuid_v4(ClientId)),
    #{<<"params">> := Cluster} = msm_test:event(<<"cluster">>, Events),
    {ok, Vsn} = application:get_key(mongoose_system_metrics, vsn),
    ?assertMatch(#{<<"node_number">> := 1}, Cluster),
    ?assertEqual(list_to_binary(Vsn), maps:get(<<"version">>, Cluster)),
    ?assertMatch({match, _}, re:run(maps:get(<<"uptime">>, Cluster), "^[0-9]{4}-[0-9]{2}:[0-9]{2}:[0-9]{2}$")),
    #{<<"params">> := #{<<"value">> := 0}} = msm_test:event(<<"custom_module_count">>, Events).

the_built_in_and_the_operator_destination_both_receive_it(Config) ->
    msm_test:set_env(default_tracking_id, #{id => "G-BUILTIN1", secret => "builtin-secret-456"}),
    start(Config, #{initial_report => 50}),
    Requests = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 2),
    ?assertEqual([{<<"G-BUILTIN1">>, <<"builtin-secret-456">>}, {<<"G-OPERATOR1">>, <<"operator-secret-123">>}],
                 lists:usort([{Id, S} || #{<<"measurement_id">> := Id, <<"api_secret">> := S} <- Requests])),
    [ClientId] = lists:usort([C || #{<<"json">> := #{<<"client_id">> := C}} <- Requests]),
    [Events] = lists:usort([E || #{<<"json">> := #{<<"events">> := E}} <- Requests]),
    ?assert(msm_test:is_uuid_v4(ClientId)),
    ?assertNotEqual([], Events).

the_first_report_waits_for_initial_report(Config) ->
    Started = os:system_time(millisecond),
    start(Config, #{initial_report => 500, periodic_report => 100000}),
    [#{<<"received_ms">> := Received}] =
        ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    ?assert(Received - Started >= 500, Received - Started).

reports_repeat_every_periodic_report(Config) ->
    Started = erlang:monotonic_time(millisecond),
    start(Config, #{initial_report => 0, periodic_report => 200}),
    Requests = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 4),
    %% Four reports at 0, 200, 400 and 600 ms cannot all have come sooner than 600 ms.
    ?assert(erlang:monotonic_time(millisecond) - Started >= 600),
    ?assertEqual(1, length(lists:usort([C || #{<<"json">> := #{<<"client_id">> := C}} <- Requests]))).

the_file_matches_what_was_sent(Config) ->
    start(Config, #{}),
    {ok, Report} = ?SERVICE:report_now(),
    [#{<<"json">> := Body}] = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    File = msm_test:read_json(report_file(Config)),
    %% The file is the report, its events counted only in the answer.
    ?assertEqual(maps:remove(<<"event_count">>, msm_test:decoded(Report)), File),
    ?assertEqual(maps:get(<<"events">>, Body), maps:get(<<"events">>, File)),
    ?assertEqual(maps:get(<<"client_id">>, Body), maps:get(<<"client_id">>, File)),
    ?assertMatch(#{<<"schema_version">> := 4, <<"mode">> := <<"on">>, <<"adjustments">> := [],
                   <<"destinations">> := [#{<<"id">> := <<"G-OPERATOR1">>, <<"result">> := <<"delivered">>,
                                            <<"status">> := 204}]}, File),
    {ok, Bytes} = file:read_file(report_file(Config)),
    ?assertNot(msm_test:contains(Bytes, "operator-secret-123")).

the_default_timers_are_5_minutes_then_3_hours(Config) ->
    Options = maps:without([initial_report, periodic_report], options(Config, #{})),
    {ok, _, #{initial_report := 300000, periodic_report := 10800000}} =
        mongoose_system_metrics_core:configure_argument(#{options => Options}),
    Before = os:system_time(second),
    Pid = start(Config, maps:to_list(Options)),
    %% The state holds the period; the first cycle is 5 minutes away (a cycle run now
    %% would have set the next one 3 hours away), so nothing is sent now.
    ?assertEqual(10800000, element(2, sys:get_state(Pid))),
    #{next_report_at := Next} = ?SERVICE:status(),
    Due = calendar:rfc3339_to_system_time(binary_to_list(Next)),
    ?assert(Due >= Before + 299 andalso Due =< os:system_time(second) + 300, {Before, Due}),
    ?assertEqual([], ga4_collector_port:requests(?config(collector, Config))).

report_false_sends_nothing_and_starts_nothing(Config) ->
    ?assertEqual(ignore, ?SERVICE:start(options(Config, #{report => false, initial_report => 0, periodic_report => 50}))),
    ?assertEqual(undefined, whereis(?SERVICE)),
    ?assertEqual(ignore, ?SERVICE:start([no_report])),
    %% Nothing must happen, so there is nothing to wait for: eight periods of 50 ms pass.
    timer:sleep(400),
    ?assertEqual([], ga4_collector_port:requests(?config(collector, Config))),
    ?assertNot(filelib:is_file(report_file(Config))),
    ?assertEqual(ok, ?SERVICE:verify_if_configured()).

no_secret_in_the_state_or_the_child_spec(Config) ->
    msm_test:set_env(default_tracking_id, #{id => "G-BUILTIN1", secret => "builtin-secret-456"}),
    Pid = start(Config, #{}),
    {ok, _} = ?SERVICE:report_now(),
    Terms = [sys:get_state(Pid), sys:get_status(Pid), sys:get_status(mongoose_system_metrics_service_sup),
             supervisor:which_children(mongoose_system_metrics_service_sup), ?SERVICE:last_report()],
    Bytes = term_to_binary(Terms),
    [?assertNot(msm_test:contains(Bytes, Secret)) || Secret <- ["operator-secret-123", "builtin-secret-456"]],
    %% A crash report would show the same state and start arguments; and the restarted
    %% service keeps reporting with the configuration it cannot see.
    exit(Pid, kill),
    _ = msm_test:wait_for_service(Pid),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}, #{<<"result">> := <<"delivered">>}]}} =
        ?SERVICE:report_now().

%% `auto', the default: MongooseIM's own property inside MongooseIM only; this node runs
%% no MongooseIM, so only the operator's destination is there. `mongooseim' asks for it.
the_built_in_destination_is_mongooseim_s_only_inside_mongooseim(Config) ->
    msm_test:set_env(default_tracking_id, auto),
    start(Config, #{}),
    ?assertMatch(#{destinations := [<<"G-OPERATOR1">>]}, ?SERVICE:status()),
    ok = ?SERVICE:stop(),
    msm_test:set_env(default_tracking_id, mongooseim),
    start(Config, #{}),
    ?assertMatch(#{destinations := [<<"G-", _/binary>>, <<"G-OPERATOR1">>]}, ?SERVICE:status()).

a_slow_collector_cannot_make_a_cycle_outlast_the_period(Config) ->
    Collector = ?config(collector, Config),
    ga4_collector_port:set_mode(Collector, {delay, 10000}),
    msm_log_capture:start(),
    start(Config, #{initial_report => 0, periodic_report => 2000}),
    %% Each cycle gives up on the slow answer within four fifths of the 2 s period (the
    %% rest, 400 ms, is left for the report file), so cycles never overlap: one request
    %% per cycle, a period apart, none skipped. A cycle that outlasted its period would
    %% make the next ones skip, and the third request come late if at all.
    Requests = ga4_collector_port:wait_for_requests(Collector, <<"/mp/collect">>, 3),
    Times = [T || #{<<"received_ms">> := T} <- Requests],
    ?assertEqual(3, length(Times)),
    [?assert(Later - Earlier >= 1000, Times) || {Earlier, Later} <- lists:zip(lists:droplast(Times), tl(Times))],
    %% The third cycle started, so the second one had ended, on its deadline.
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"failed">>, <<"error">> := Error}]}} = ?SERVICE:last_report(),
    ga4_collector_port:set_mode(Collector, normal),
    ?assert(msm_test:contains(Error, "timed out") orelse msm_test:contains(Error, "deadline"), Error),
    Logged = msm_log_capture:collected(),
    ?assertEqual([], [W || {_, #{what := system_metrics_cycle_skipped} = W} <- Logged]).

stop_answers_the_callers_waiting_for_a_report(Config) ->
    ga4_collector_port:set_mode(?config(collector, Config), {delay, 2000}),
    start(Config, #{}),
    Self = self(),
    Caller = spawn(fun() -> Self ! {report_now, ?SERVICE:report_now()} end),
    _ = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    ok = ?SERVICE:stop(),
    receive
        {report_now, Result} -> ?assertEqual({error, stopped}, Result)
    after 5000 ->
        error({no_answer, erlang:process_info(Caller)})
    end.

a_collector_that_is_down_leaves_the_service_running(Config) ->
    {ok, Listen} = gen_tcp:listen(0, []),
    {ok, Port} = inet:port(Listen),
    ok = gen_tcp:close(Listen),
    Pid = start(Config, #{google_analytics_url => "http://127.0.0.1:" ++ integer_to_list(Port),
                          initial_report => 0, periodic_report => 100}),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"failed">>}]}} = ?SERVICE:report_now(),
    %% Three periodic cycles fail meanwhile; a crash would leave another process, or none.
    timer:sleep(300),
    ?assertEqual(Pid, whereis(?SERVICE)),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"failed">>}]}} = ?SERVICE:last_report().

a_collector_answering_500_leaves_the_service_running(Config) ->
    Collector = ?config(collector, Config),
    ga4_collector_port:set_mode(Collector, {status, 500}),
    Pid = start(Config, #{}),
    {ok, #{<<"destinations">> := [Failed]}} = ?SERVICE:report_now(),
    ?assertMatch(#{<<"result">> := <<"failed">>, <<"status">> := 500}, Failed),
    ?assertEqual(Pid, whereis(?SERVICE)),
    ga4_collector_port:set_mode(Collector, normal),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} = ?SERVICE:report_now(),
    ?assertMatch(#{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]},
                 msm_test:read_json(report_file(Config))).

%% The report's directory replaced by a file after the start: the report is still sent,
%% and the report, status/0 and the log all say that the file and the send log were not
%% written (a report sent and not logged is not quietly "delivered").
an_unwritable_report_file_is_logged_and_reporting_goes_on(Config) ->
    Sub = filename:join(?config(dir, Config), "reports"),
    msm_log_capture:start(),
    Pid = start(Config, #{report_file => filename:join(Sub, "report.json")}),
    ok = file:del_dir_r(Sub),
    ok = file:write_file(Sub, <<"not a directory">>),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}],
           <<"files">> := #{<<"report_file">> := #{<<"result">> := <<"failed">>},
                            <<"send_log">> := #{<<"result">> := <<"failed">>}}}} = ?SERVICE:report_now(),
    ?assertEqual(Pid, whereis(?SERVICE)),
    ?assertMatch(#{last_report := #{files := #{<<"report_file">> := #{<<"result">> := <<"failed">>}}}},
                 ?SERVICE:status()),
    Logged = [Text || {warning, #{what := system_metrics_report_file_failed, text := Text}} <- msm_log_capture:collected()],
    ?assertMatch([_], Logged),
    ?assert(msm_test:contains(Logged, "reports/report.json")).

the_client_id_survives_a_restart_of_the_service(Config) ->
    start(Config, #{}),
    {ok, #{<<"client_id">> := First}} = ?SERVICE:report_now(),
    ok = ?SERVICE:stop(),
    start(Config, #{}),
    {ok, #{<<"client_id">> := Second}} = ?SERVICE:report_now(),
    ?assertEqual(First, Second).

stop_ends_the_timers(Config) ->
    start(Config, #{initial_report => 0, periodic_report => 100}),
    _ = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    ok = ?SERVICE:stop(),
    ?assertEqual(undefined, whereis(?SERVICE)),
    %% A request sent just before the stop may still land; after that, none may come in
    %% four periods, which only time can show.
    timer:sleep(150),
    Count = length(ga4_collector_port:requests(?config(collector, Config))),
    timer:sleep(400),
    ?assertEqual(Count, length(ga4_collector_port:requests(?config(collector, Config)))).

a_second_start_is_refused(Config) ->
    Pid = start(Config, #{}),
    ?assertEqual({error, {already_started, Pid}}, ?SERVICE:start(options(Config, #{}))),
    ?assertEqual(Pid, whereis(?SERVICE)).

preview_shows_the_next_report_and_sends_nothing(Config) ->
    start(Config, #{}),
    {ok, Preview} = ?SERVICE:preview(),
    ?assertMatch(#{<<"destinations">> := [#{<<"result">> := <<"not_sent">>, <<"requests">> := 1}]}, Preview),
    %% Nothing may be sent, even later: a moment for a stray request to arrive.
    timer:sleep(200),
    ?assertEqual([], ga4_collector_port:requests(?config(collector, Config))),
    ?assertNot(filelib:is_file(report_file(Config))),
    {ok, Sent} = ?SERVICE:report_now(),
    Names = fun(R) -> [N || #{<<"name">> := N} <- maps:get(<<"events">>, msm_test:decoded(R))] end,
    ?assertEqual(Names(Preview), Names(Sent)),
    ?assertEqual(maps:get(<<"client_id">>, Preview), maps:get(<<"client_id">>, Sent)).

api_answers_when_the_service_is_not_running(_Config) ->
    ?assertEqual({error, not_running}, ?SERVICE:report_now()),
    ?assertEqual({error, not_running}, ?SERVICE:preview()),
    ?assertEqual(ok, ?SERVICE:stop()).
