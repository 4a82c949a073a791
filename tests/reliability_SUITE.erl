%% @doc Reliability: memory stays flat over 1,000 failing cycles; 100 stops and starts
%% leak no thread and no memory; a node killed with `kill -9' while the report file is
%% replaced leaves the old file or the new one, never a torn one; a panic in Rust, in a
%% NIF call or on the core's runtime, is reported and leaves the service running; dozens
%% of malformed option sets are each refused with a clear error.
-module(reliability_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(SERVICE, service_mongoose_system_metrics).

all() ->
    [memory_stays_flat_over_1000_failing_cycles,
     a_hundred_stops_and_starts_leak_no_thread_and_no_memory,
     a_node_killed_while_writing_leaves_a_whole_report_file,
     a_panic_in_a_nif_call_is_reported_and_the_service_runs_on,
     a_panic_in_a_cycle_is_reported_and_the_service_runs_on,
     malformed_option_sets_are_each_refused_clearly].

init_per_suite(Config) ->
    msm_test:test_environment(),
    [{fixtures, msm_test:compile_fixtures(Config, "reliability_fixtures")} | Config].

end_per_suite(_Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    msm_test:init_case(Config, "reliability").

end_per_testcase(_Case, Config) ->
    msm_test:end_case(Config).

options(Config, Extra) ->
    msm_test:options(?config(collector, Config), ?config(dir, Config), Extra).

closed_port_url() ->
    {ok, Listen} = gen_tcp:listen(0, []),
    {ok, Port} = inet:port(Listen),
    ok = gen_tcp:close(Listen),
    "http://127.0.0.1:" ++ integer_to_list(Port).

rss_kb() ->
    {ok, Status} = file:read_file("/proc/self/status"),
    {match, [Kb]} = re:run(Status, "VmRSS:\\s+([0-9]+) kB", [{capture, all_but_first, list}]),
    list_to_integer(Kb).

%% The names of this OS process's threads.
threads() ->
    {ok, Tasks} = file:list_dir("/proc/self/task"),
    [begin
         {ok, Comm} = file:read_file(filename:join(["/proc/self/task", T, "comm"])),
         string:trim(binary_to_list(Comm))
     end || T <- Tasks].

runtime_threads() ->
    [T || T <- threads(), T =:= "msm-runtime"].

memory_stays_flat_over_1000_failing_cycles(Config) ->
    msm_test:set_env(delivery, #{max_attempts => 1, connect_timeout_ms => 500}),
    {ok, _} = ?SERVICE:start(options(Config, #{google_analytics_url => closed_port_url()})),
    Cycle = fun() -> {ok, #{<<"destinations">> := [#{<<"result">> := <<"failed">>}]}} = ?SERVICE:report_now() end,
    [Cycle() || _ <- lists:seq(1, 50)],
    erlang:garbage_collect(),
    {Rss0, Erl0} = {rss_kb(), erlang:memory(total)},
    [Cycle() || _ <- lists:seq(1, 1000)],
    erlang:garbage_collect(),
    {Rss1, Erl1} = {rss_kb(), erlang:memory(total)},
    ct:pal("1000 failing cycles: RSS ~b -> ~b kB, Erlang memory ~b -> ~b bytes", [Rss0, Rss1, Erl0, Erl1]),
    ?assert(Rss1 - Rss0 < 10 * 1024, {rss_growth_kb, Rss1 - Rss0}).

a_hundred_stops_and_starts_leak_no_thread_and_no_memory(Config) ->
    Options = options(Config, #{}),
    Round = fun() ->
                    {ok, _} = ?SERVICE:start(Options),
                    {ok, _} = ?SERVICE:report_now(),
                    ok = ?SERVICE:stop()
            end,
    [Round() || _ <- lists:seq(1, 10)],
    erlang:garbage_collect(),
    {Threads0, Rss0} = {length(threads()), rss_kb()},
    [Round() || _ <- lists:seq(1, 100)],
    erlang:garbage_collect(),
    {Threads1, Rss1} = {length(threads()), rss_kb()},
    ct:pal("100 stops and starts: threads ~b -> ~b, RSS ~b -> ~b kB, runtime threads ~p",
           [Threads0, Threads1, Rss0, Rss1, runtime_threads()]),
    ?assert(length(runtime_threads()) =< 2, runtime_threads()),
    ?assert(Threads1 =< Threads0 + 1, {Threads0, Threads1}),
    ?assert(Rss1 - Rss0 < 10 * 1024, {rss_growth_kb, Rss1 - Rss0}),
    ?assertEqual(100 + 10, length(ga4_collector_port:requests(?config(collector, Config)))).

a_node_killed_while_writing_leaves_a_whole_report_file(Config) ->
    File = filename:join(?config(dir, Config), "system_metrics_report.json"),
    Options = options(Config, #{report => local, initial_report => 0, periodic_report => 5}),
    Paths = [filename:dirname(code:which(?SERVICE)), ?config(fixtures, Config)],
    Kill = fun(DelayMs) ->
                   {ok, Peer, _} = peer:start(#{connection => standard_io, args => msm_test:peer_args() ++ ["-pa" | Paths]}),
                   ok = peer:call(Peer, application, load, [mongoose_system_metrics]),
                   ok = peer:call(Peer, application, set_env, [mongoose_system_metrics, facts_source, big_source]),
                   {ok, _} = peer:call(Peer, ?SERVICE, start, [Options]),
                   %% Kills at moments spread over the node's writing, not after an event.
                   timer:sleep(DelayMs),
                   os:cmd("kill -9 " ++ peer:call(Peer, os, getpid, [])),
                   catch peer:stop(Peer),
                   case file:read_file(File) of
                       {ok, Bytes} -> whole(Bytes);
                       {error, enoent} -> absent
                   end
           end,
    Outcomes = [Kill(D) || D <- [300, 700, 1100, 1500, 1900, 2300, 2700, 3100]],
    ct:pal("report file after each kill: ~p", [Outcomes]),
    ?assert(lists:all(fun(O) -> O =:= whole orelse O =:= absent end, Outcomes), Outcomes),
    ?assert(lists:member(whole, Outcomes)),
    %% A new start removes what an interrupted write left behind.
    Leftovers = fun() -> [F || F <- filelib:wildcard(filename:join(?config(dir, Config), ".*.tmp"))] end,
    {ok, _} = ?SERVICE:start(options(Config, #{report => local})),
    ?assertEqual([], Leftovers()).

whole(Bytes) ->
    try msm_json:decode(Bytes) of
        #{<<"events">> := [_ | _], <<"schema_version">> := _} -> whole;
        _ -> torn
    catch
        _:_ -> torn
    end.

a_panic_in_a_nif_call_is_reported_and_the_service_runs_on(Config) ->
    msm_test:set_env(fault, panic_in_nif),
    msm_log_capture:start(),
    {ok, Pid} = ?SERVICE:start(options(Config, #{})),
    ?assertEqual({error, nif_panicked}, ?SERVICE:report_now()),
    ?assertEqual({error, nif_panicked}, ?SERVICE:report_now()),
    ?assertEqual(Pid, whereis(?SERVICE)),
    ?assertMatch(#{mode := on}, ?SERVICE:status()),
    Logged = [R || {warning, #{what := system_metrics_cycle_failed, reason := nif_panicked} = R}
                       <- msm_log_capture:collected()],
    ?assertMatch([_, _], Logged).

a_panic_in_a_cycle_is_reported_and_the_service_runs_on(Config) ->
    msm_test:set_env(fault, panic_in_cycle),
    {ok, Pid} = ?SERVICE:start(options(Config, #{})),
    ?assertEqual({error, {panicked, <<"fault injected: a panic in the cycle">>}}, ?SERVICE:report_now()),
    {error, _} = ?SERVICE:report_now(),
    ?assertEqual(Pid, whereis(?SERVICE)),
    ?assertEqual([], ga4_collector_port:requests(?config(collector, Config))).

%% Each set is refused; the reason names what is wrong (an option, a value, a shape).
malformed_option_sets() ->
    [{report, maybe}, {report, 1}, {report, "yes"}, {report, <<"true">>}, {report, [true]},
     {initial_report, -1}, {initial_report, 1.5}, {initial_report, "300000"}, {initial_report, 1 bsl 40},
     {initial_report, infinity}, {initial_report, {5, min}},
     {periodic_report, 0}, {periodic_report, -10}, {periodic_report, 1.0e3}, {periodic_report, <<"3h">>},
     {periodic_report, 1 bsl 33}, {periodic_report, undefined},
     {tracking_id, 42}, {tracking_id, "G-ONLY"}, {tracking_id, "hello"}, {tracking_id, #{id => "G-1"}},
     {tracking_id, #{secret => "s"}}, {tracking_id, #{id => 1, secret => "s"}},
     {tracking_id, #{id => "G-1", secret => ""}}, {tracking_id, #{id => "G-1", secret => "has space"}},
     {tracking_id, #{id => "", secret => "s"}}, {tracking_id, #{id => "G-1", secret => "s", extra => 1}},
     {tracking_id, [#{id => "G-1", secret => "s"}, 7]}, {tracking_id, {"G-1", "s"}}, {tracking_id, "UA-12-x"},
     {tracking_id, #{id => "abcdef", secret => "G-12345"}},
     {google_analytics_url, "ftp://example.com"}, {google_analytics_url, "http://example.com"},
     {google_analytics_url, "https://www.google-analytics.com/mp/collect"},
     {google_analytics_url, "https://x/?q=1"}, {google_analytics_url, "https://u:p@x"},
     {google_analytics_url, "not a url"}, {google_analytics_url, 7},
     {report_file, "/system_metrics_report.json"}, {report_file, "/var/log/"}, {report_file, 3},
     {report_file, "/tmp/../r.json"}, {report_file, ""},
     {ca_bundle, "/no/such/file.pem"}, {ca_bundle, 5},
     {periodic_reports, 1000}, {trackingid, "x"}, {colour, blue}, {<<"reprot">>, true},
     {initial_report, 1, 2}, not_an_option, [nested], 42].

malformed_option_sets_are_each_refused_clearly(Config) ->
    {ok, Pid} = ?SERVICE:start(options(Config, #{})),
    Sets = malformed_option_sets(),
    ?assert(length(Sets) >= 50, length(Sets)),
    [begin
         Result = ?SERVICE:start([Set]),
         ?assertMatch({error, _}, Result, Set),
         {error, Reason} = Result,
         Message = case Reason of
                       {invalid_option, _, M} -> M;
                       {unknown_option, _, M} -> M;
                       {invalid_options, M} -> M
                   end,
         ?assert(is_binary(Message) andalso byte_size(Message) > 10, {Set, Message})
     end || Set <- Sets],
    ?assertEqual(Pid, whereis(?SERVICE)),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} = ?SERVICE:report_now().
