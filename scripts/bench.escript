#!/usr/bin/env escript
%%! -noshell
%% The Erlang side of `make bench': times every NIF call beside an empty one, the time
%% normal schedulers spend per call, long schedules over 1,000 report cycles, the cost of
%% collecting a large MongooseIM deployment's facts, the idle cost of the running service,
%% its memory, and the requests and connections per report. Prints a Markdown table and
%% writes BENCHMARKS.md with it, beside the Rust cycle benchmark's rows (read from stdin).
-mode(compile).

-define(NIF, service_mongoose_system_metrics_nif).
-define(SERVICE, service_mongoose_system_metrics).

main(_) ->
    Root = filename:dirname(filename:dirname(filename:absname(escript:script_name()))),
    true = code:add_patha(filename:join(Root, "_build/default/lib/mongoose_system_metrics/ebin")),
    [load_source(filename:join([Root, "tests", M ++ ".erl"])) || M <- ["msm_json", "ga4_collector_port"]],
    [load_source(F) || F <- filelib:wildcard(filename:join(Root, "tests/mongooseim_SUITE_data/*.fixture")),
                       filename:basename(F) =/= "mim_privacy_prop.fixture"],
    os:putenv("GA4_COLLECTOR", filename:join(Root, "target/release/ga4_collector")),
    logger:set_primary_config(level, error),
    RustRows = read_stdin([]),
    Dir = filename:join(Root, "_build/bench"),
    _ = file:del_dir_r(Dir),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    Bare = rss_kb(),
    {ok, _} = application:ensure_all_started(mongoose_system_metrics),
    Collector = ga4_collector_port:start(),
    Options = #{google_analytics_url => ga4_collector_port:url(Collector),
                tracking_id => #{id => "G-BENCH00001", secret => "bench-secret"},
                report_file => filename:join(Dir, "system_metrics_report.json"), report => true},
    %% First, in a VM that has done nothing else yet: memory and long schedules.
    Rows = lists:append([cycles(Bare, Options, Collector),
                         nif_calls(Options),
                         fact_collection(),
                         network(Options, Collector),
                         idle(Options)]),
    ga4_collector_port:stop(Collector),
    Table = ["| measure | measured | target |\n|---|---|---|\n", RustRows,
             [io_lib:format("| ~s | ~s | ~s |~n", [M, V, T]) || {M, V, T} <- Rows]],
    io:put_chars(Table),
    ok = file:write_file(filename:join(Root, "BENCHMARKS.md"), benchmarks_md(Table)),
    io:format("~nWritten to BENCHMARKS.md~n").

read_stdin(Acc) ->
    case io:get_line("") of
        eof -> lists:reverse(Acc);
        Line -> read_stdin([Line | Acc])
    end.

load_source(File) ->
    {ok, Forms} = epp:parse_file(File, []),
    {ok, Module, Beam} = compile:forms(Forms, [report]),
    {module, Module} = code:load_binary(Module, File, Beam).

%% Timing.

micros(Fun) ->
    T0 = erlang:monotonic_time(nanosecond),
    Result = Fun(),
    {(erlang:monotonic_time(nanosecond) - T0) / 1000, Result}.

percentiles(Samples) ->
    Sorted = lists:sort(Samples),
    N = length(Sorted),
    At = fun(P) -> lists:nth(max(1, min(N, round(P * N))), Sorted) end,
    {At(0.5), At(0.99), lists:last(Sorted)}.

us(X) -> io_lib:format("~.1f µs", [float(X)]).
ms(X) -> io_lib:format("~.1f ms", [float(X)]).

%% Busy time of the normal schedulers while Fun runs, in microseconds.
normal_busy(Fun) ->
    erlang:system_flag(scheduler_wall_time, true),
    Normal = erlang:system_info(schedulers),
    Before = lists:sublist(lists:sort(erlang:statistics(scheduler_wall_time)), Normal),
    Fun(),
    After = lists:sublist(lists:sort(erlang:statistics(scheduler_wall_time)), Normal),
    Units = lists:sum([A1 - A0 || {{_, A0, _}, {_, A1, _}} <- lists:zip(Before, After)]),
    Units / 1000.  % scheduler_wall_time counts nanoseconds on this platform

%% The facts of a large deployment: 1,000 host types of 40 modules, 200 listeners, 100 pools.
large_facts() ->
    Modules = maps:from_list([{list_to_atom("mod_" ++ integer_to_list(I)), #{backend => rdbms}}
                              || I <- lists:seq(1, 30)]
                             ++ [{M, #{backend => rdbms}} || M <- [mod_vcard, mod_mam, mod_muc, mod_roster,
                                                                   mod_offline, mod_last, mod_privacy, mod_private,
                                                                   mod_inbox, mod_ping]]),
    HostTypes = [<<"host", (integer_to_binary(I))/binary>> || I <- lists:seq(1, 1000)],
    #{uptime_ms => 1000, node_count => 1, host_types => HostTypes,
      modules => maps:from_list([{H, Modules} || H <- HostTypes]),
      listeners => [#{module => mongoose_c2s_listener, proto => tcp, tls_mode => starttls} || _ <- lists:seq(1, 200)],
      outgoing_pools => [rdbms || _ <- lists:seq(1, 100)]}.

nif_calls(Options) ->
    {ok, _} = ?NIF:start(#{options => Options#{report => local}}),
    Large = large_facts(),
    Small = #{uptime_ms => 1000, node_count => 1},
    Calls = [{"ping (empty NIF, the baseline)", 10000, fun() -> ?NIF:ping() end},
             {"configure/1 (options)", 1000, fun() -> ?NIF:configure(#{options => Options}) end},
             {"identity/0", 1000, fun() -> ?NIF:identity() end},
             {"report_now/1, small facts (returns at once)", 200, fun() -> cycle(Small) end},
             {"report_now/1, large deployment (returns at once)", 20, fun() -> cycle(Large) end},
             {"preview/1, large deployment (dirty scheduler)", 20, fun() -> ?NIF:preview(Large) end},
             {"last_report/0, large deployment (dirty scheduler)", 20, fun() -> ?NIF:last_report() end}],
    Rows = lists:append(
             [begin
                  {Samples, Busy} = sample(N, Call),
                  {P50, P99, Max} = percentiles(Samples),
                  [{"NIF " ++ Name ++ ": p50 / p99 / max wall time", [us(P50), " / ", us(P99), " / ", us(Max)],
                    "p99 < 20 µs (on a normal scheduler)"},
                   {"NIF " ++ Name ++ ": normal-scheduler time per call", us(Busy / N), "< 100 µs"}]
              end || {Name, N, Call} <- Calls]),
    ?NIF:stop(),
    Rows.

sample(N, Call) ->
    Self = self(),
    Busy = normal_busy(fun() -> Self ! {samples, [element(1, micros(Call)) || _ <- lists:seq(1, N)]} end),
    receive {samples, Samples} -> {Samples, Busy} end.

%% report_now/1 returns a reference at once; the cycle's message is awaited outside the
%% timed call, so each sample is the call alone.
cycle(Facts) ->
    {ok, Ref} = ?NIF:report_now(Facts),
    self() ! {await, Ref},
    ok.

await_all() ->
    receive
        {await, Ref} -> receive {mongoose_system_metrics_report, Ref, _} -> await_all() after 60000 -> timeout end
    after 0 -> ok
    end.

%% 1,000 report cycles through the service, to the local collector: long schedules on the
%% normal schedulers (the NIF library is loaded first: loading it once takes a few ms of
%% the code server) and resident memory against the VM without the service.
cycles(Bare, Options, Collector) ->
    {module, _} = code:ensure_loaded(?NIF),
    ga4_collector_port:clear(Collector),
    erlang:system_monitor(self(), [{long_schedule, 1}]),
    {ok, _} = ?SERVICE:start(Options),
    Started = rss_kb(),
    {Micros, _} = micros(fun() -> [{ok, _} = ?SERVICE:report_now() || _ <- lists:seq(1, 1000)] end),
    erlang:garbage_collect(),
    After = rss_kb(),
    ok = ?SERVICE:stop(),
    erlang:system_monitor(undefined),
    Events = flush_long_schedules(0),
    [{"long schedules (> 1 ms) over 1,000 report cycles", integer_to_list(Events), "0"},
     {"report cycle through the service, small node, to the local collector", ms(Micros / 1000 / 1000),
      "(informative)"},
     {"resident memory: VM without the service -> started -> after 1,000 cycles",
      io_lib:format("~b -> ~b -> ~b kB", [Bare, Started, After]), "(informative)"},
     {"resident memory growth against the VM without the service", io_lib:format("~.1f MB", [(After - Bare) / 1024]),
      "< 10 MB"}].

flush_long_schedules(N) ->
    receive {monitor, _, long_schedule, _} -> flush_long_schedules(N + 1) after 0 -> N end.

%% MongooseIM's own configuration for a large deployment, read by the adapter.
fact_collection() ->
    HostTypes = [<<"host", (integer_to_binary(I))/binary>> || I <- lists:seq(1, 1000)],
    Modules = maps:from_list([{list_to_atom("mod_" ++ integer_to_list(I)), #{backend => rdbms, iqdisc => one_queue}}
                              || I <- lists:seq(1, 40)]),
    Config = maps:merge(#{hosts => [], host_types => HostTypes,
                          listen => [#{module => mongoose_c2s_listener, proto => tcp, port => 5222 + I,
                                       tls => #{mode => starttls}} || I <- lists:seq(1, 200)],
                          outgoing_pools => [#{type => rdbms, scope => global, tag => default} || _ <- lists:seq(1, 100)],
                          instrumentation => #{probe_interval => 15},
                          internal_databases => #{cets => #{}}},
                        maps:from_list([{{modules, H}, Modules} || H <- HostTypes])),
    mongoose_config:set_opts(Config),
    Samples = [element(1, micros(fun mongoose_system_metrics_facts:collect/0)) || _ <- lists:seq(1, 10)],
    persistent_term:erase(mongoose_config),
    {P50, _, _} = percentiles(Samples),
    [{"Erlang: collect the facts of a large MongooseIM deployment (adapter)", ms(P50 / 1000), "(informative)"}].

network(Options, Collector) ->
    ga4_collector_port:clear(Collector),
    Modules = maps:from_list([{M, #{backend => rdbms}} || M <- [mod_vcard, mod_mam, mod_muc, mod_roster]]),
    Facts = #{host_types => [I || I <- lists:seq(1, 250)], modules => maps:from_list([{I, Modules} || I <- lists:seq(1, 250)])},
    Two = Options#{tracking_id => [#{id => "G-BENCH00001", secret => "a"}, #{id => "G-BENCH00002", secret => "b"}]},
    {ok, _} = ?NIF:start(#{options => Two}),
    {ok, Ref} = ?NIF:report_now(Facts),
    {ok, #{<<"events">> := Events, <<"destinations">> := Outcomes}, ok} =
        receive {mongoose_system_metrics_report, Ref, R} -> R after 60000 -> timeout end,
    ?NIF:stop(),
    Expected = (length(Events) + 24) div 25,
    Requests = [N || #{<<"requests">> := N} <- Outcomes],
    Connections = connections(Collector),
    [{io_lib:format("requests per report and GA4 destination (~b events)", [length(Events)]),
      io_lib:format("~w", [Requests]), io_lib:format("~b (ceil(events / 25))", [Expected])},
     {"connections per destination per cycle", io_lib:format("~.1f", [(Connections - 1) / 2]), "1"}].

%% Connections the collector accepted; the one asking counts itself.
connections(#{tcp_port := Port}) ->
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(S, "GET /_collector/connections HTTP/1.1\r\nconnection: close\r\n\r\n"),
    {ok, Answer} = recv_all(S, <<>>),
    [_, Body] = binary:split(Answer, <<"\r\n\r\n">>),
    binary_to_integer(Body).

recv_all(S, Acc) ->
    case gen_tcp:recv(S, 0, 5000) of
        {ok, D} -> recv_all(S, <<Acc/binary, D/binary>>);
        {error, closed} -> {ok, Acc}
    end.

idle(Options) ->
    Seconds = list_to_integer(os:getenv("BENCH_IDLE_SECONDS", "60")),
    {ok, _} = ?SERVICE:start(Options#{initial_report => 3600000}),
    timer:sleep(1000),
    {Runtime0, Vm0} = cpu_ticks(),
    timer:sleep(Seconds * 1000),
    {Runtime1, Vm1} = cpu_ticks(),
    Threads = length([T || T <- threads(), T =:= "msm-runtime"]),
    ok = ?SERVICE:stop(),
    Hz = 100,
    [{io_lib:format("idle CPU over ~b s: the service's threads / the whole VM", [Seconds]),
      io_lib:format("~.2f s / ~.2f s", [(Runtime1 - Runtime0) / Hz, (Vm1 - Vm0) / Hz]), "no measurable CPU"},
     {"OS threads the service starts", integer_to_list(Threads), "at most 2"}].

%% CPU time, in clock ticks, of the msm-runtime threads and of the whole VM.
cpu_ticks() ->
    {ok, Tasks} = file:list_dir("/proc/self/task"),
    Runtime = lists:sum([ticks(filename:join(["/proc/self/task", T, "stat"])) || T <- Tasks,
                         comm(T) =:= "msm-runtime"]),
    {Runtime, ticks("/proc/self/stat")}.

comm(Task) ->
    {ok, C} = file:read_file(filename:join(["/proc/self/task", Task, "comm"])),
    string:trim(binary_to_list(C)).

threads() ->
    {ok, Tasks} = file:list_dir("/proc/self/task"),
    [comm(T) || T <- Tasks].

%% utime + stime of a /proc stat line (fields 14 and 15, after the parenthesised name).
ticks(Path) ->
    {ok, Stat} = file:read_file(Path),
    [_, AfterName] = binary:split(Stat, <<") ">>),
    Fields = binary:split(AfterName, <<" ">>, [global]),
    binary_to_integer(lists:nth(12, Fields)) + binary_to_integer(lists:nth(13, Fields)).

rss_kb() ->
    {ok, Status} = file:read_file("/proc/self/status"),
    {match, [Kb]} = re:run(Status, "VmRSS:\\s+([0-9]+) kB", [{capture, all_but_first, list}]),
    list_to_integer(Kb).

benchmarks_md(Table) ->
    {ok, CpuInfo} = file:read_file("/proc/cpuinfo"),
    Model = case re:run(CpuInfo, "model name\\s*:\\s*(.*)", [{capture, all_but_first, binary}]) of
                {match, [M]} -> M;
                nomatch -> <<"unknown CPU">>
            end,
    {ok, MemInfo} = file:read_file("/proc/meminfo"),
    {match, [MemKb]} = re:run(MemInfo, "MemTotal:\\s+([0-9]+) kB", [{capture, all_but_first, list}]),
    Date = calendar:system_time_to_rfc3339(erlang:system_time(second), [{offset, "Z"}]),
    ["# Benchmarks\n\n",
     "The latest run of `make bench`, ", Date, ", on ", Model, ", ",
     integer_to_list(erlang:system_info(logical_processors_available)), " cores, ",
     integer_to_list(list_to_integer(MemKb) div 1024 div 1024), " GiB, OTP ", erlang:system_info(otp_release), ".\n\n",
     "The large deployment is 1,000 host types of 40 modules, 200 listeners and 100 pools. ",
     "Calls marked dirty scheduler run there, not on the normal schedulers: their wall time is ",
     "not scheduler time; the normal-scheduler time per call is measured from ",
     "`erlang:statistics(scheduler_wall_time)` over all the calls (it includes the benchmark's ",
     "own loop). Rust rows come from `cargo bench --bench cycle` (median of 15 runs).\n\n",
     Table,
     "\n## Rerun\n\n```sh\nmake bench            # about two minutes; BENCH_IDLE_SECONDS=10 shortens the idle part\n```\n"].
