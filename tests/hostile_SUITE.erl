%% @doc Hostile input against the running service, each attack real: forged internal
%% messages, killed supervisors and a service made to crash again and again.
-module(hostile_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(SERVICE, service_mongoose_system_metrics).

all() ->
    [forged_cluster_messages_are_ignored,
     a_killed_supervisor_brings_the_service_back,
     a_service_that_keeps_crashing_is_started_again,
     stop_is_final].

init_per_suite(Config) ->
    msm_test:fast_retries(),
    msm_test:only_operator_destinations(),
    Config.

end_per_suite(_Config) ->
    msm_test:default_retries().

init_per_testcase(_Case, Config) ->
    ok = ?SERVICE:stop(),
    msm_log_capture:start(),
    [{collector, ga4_collector_port:start()}, {dir, msm_test:fresh_dir(Config, "hostile")} | Config].

end_per_testcase(_Case, Config) ->
    ok = ?SERVICE:stop(),
    msm_log_capture:stop(),
    ga4_collector_port:stop(?config(collector, Config)).

start(Config) ->
    {ok, Pid} = ?SERVICE:start(msm_test:options(?config(collector, Config), ?config(dir, Config), #{})),
    Pid.

logged(What) ->
    [R || {_, #{what := W} = R} <- msm_log_capture:collected(), W =:= What].

%% Casts of the right name and the wrong shape, and of no known name at all: none stops
%% the service or changes what it reports; each kind is logged once.
forged_cluster_messages_are_ignored(Config) ->
    Pid = start(Config),
    Forged = [{cluster_reported, #{at => now, node => self(), identity => 1, stanza_totals => []}},
              {cluster_reported, #{at => 1, node => 'x@y', identity => #{client_id => 7}, stanza_totals => #{}}},
              {cluster_reported, not_a_map},
              {cluster_reported},
              <<"garbage">>,
              {please, crash}],
    [gen_server:cast(?SERVICE, F) || F <- Forged ++ Forged],
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} = ?SERVICE:report_now(),
    ?assertEqual(Pid, whereis(?SERVICE)),
    %% One line per kind of message, however often it came.
    ?assertEqual(lists:sort([cluster_reported, other, please]),
                 lists:sort([K || #{message := K} <- logged(system_metrics_message_ignored)])).

%% Its supervisor killed, the service comes back by itself with its configuration.
a_killed_supervisor_brings_the_service_back(Config) ->
    Pid = start(Config),
    exit(whereis(mongoose_system_metrics_service_sup), kill),
    msm_test:wait_until(fun() -> is_pid(whereis(?SERVICE)) andalso whereis(?SERVICE) =/= Pid end),
    ?assertMatch(#{mode := on}, ?SERVICE:status()),
    ga4_collector_port:clear(?config(collector, Config)),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} = ?SERVICE:report_now().

%% More crashes in a minute than the supervisor takes: it gives up, is started again by
%% its own supervisor, and starts the service again; a warning says so.
a_service_that_keeps_crashing_is_started_again(Config) ->
    _ = start(Config),
    [begin
         Pid = wait_for_service(),
         exit(Pid, kill),
         msm_test:wait_until(fun() -> whereis(?SERVICE) =/= Pid end)
     end || _ <- lists:seq(1, 5)],
    _ = wait_for_service(),
    ?assertMatch(#{mode := on}, ?SERVICE:status()),
    ?assertMatch([_ | _], logged(system_metrics_service_restored)),
    {ok, _} = ?SERVICE:report_now().

%% Only stop/0 ends reporting: a supervisor restarted after it starts nothing.
stop_is_final(Config) ->
    _ = start(Config),
    ok = ?SERVICE:stop(),
    exit(whereis(mongoose_system_metrics_service_sup), kill),
    msm_test:wait_until(fun() -> is_pid(whereis(mongoose_system_metrics_service_sup)) end),
    timer:sleep(200),
    ?assertEqual(undefined, whereis(?SERVICE)),
    ?assertMatch(#{mode := off, mode_reason := <<"stopped by stop/0">>}, ?SERVICE:status()).

wait_for_service() ->
    msm_test:wait_until(fun() -> is_pid(whereis(?SERVICE)) end),
    whereis(?SERVICE).
