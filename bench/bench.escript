#!/usr/bin/env escript
%%! -noshell
%% The Erlang side of `make bench'. First, side by side with MongooseIM's own service
%% (msm_bench_compare), the ratios this project must meet; then, as context: every NIF
%% call beside an empty one, the time normal schedulers spend per call, long schedules
%% over 1,000 report cycles, the cost of collecting a large MongooseIM deployment's facts,
%% the idle cost of the running service, and the requests and connections per report.
%% Prints Markdown tables and writes BENCHMARKS.md with them, beside the rows of the Rust
%% benchmarks (read from stdin): the report cycle's go into the context table, the usage
%% server's (those starting "| usage server") into a section of their own. Exits with
%% status 1 when a ratio is missed.
-mode(compile).

-define(CORE, mongoose_system_metrics_core).
-define(NIF, mongoose_system_metrics_nif).
-define(SERVICE, service_mongoose_system_metrics).

main(_) ->
    Root = filename:dirname(filename:dirname(filename:absname(escript:script_name()))),
    true = code:add_patha(filename:join(Root, "_build/default/lib/mongoose_system_metrics/ebin")),
    [load_source(filename:join([Root, "tests", M ++ ".erl"])) || M <- ["msm_json", "ga4_collector_port"]],
    [load_source(F) || F <- filelib:wildcard(filename:join(Root, "tests/mongooseim_SUITE_data/*.fixture"))
                           ++ filelib:wildcard(filename:join(Root, "bench/*.erl")),
                       filename:basename(F) =/= "mim_privacy_prop.fixture"],
    os:putenv("GA4_COLLECTOR", filename:join(Root, "target/release/ga4_collector")),
    logger:set_primary_config(level, error),
    %% One destination, as MongooseIM's own service has by default.
    ok = application:load(mongoose_system_metrics),
    ok = application:set_env(mongoose_system_metrics, default_tracking_id, none),
    {UsageRows, RustRows} = lists:partition(fun(Row) -> lists:prefix("| usage server", Row) end, read_stdin([])),
    Dir = filename:join(Root, "_build/bench"),
    _ = file:del_dir_r(Dir),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    {ok, _} = application:ensure_all_started(mongoose_system_metrics),
    Collector = ga4_collector_port:start(),
    %% First, in a VM that has done nothing else yet.
    {Compared, Met} = case msm_bench_compare:run(Root, Collector, filename:join(Dir, "side-by-side")) of
                          {ok, CompareRows, AllMet} -> {table(CompareRows), AllMet};
                          {skipped, Why} -> {["The side-by-side comparison did not run: ", Why, ".\n"], skipped}
                      end,
    io:put_chars(Compared),
    %% MongooseIM's configuration stays out of what follows.
    persistent_term:erase(mongoose_config),
    Options = #{google_analytics_url => ga4_collector_port:url(Collector),
                tracking_id => #{id => "G-BENCH00001", secret => "bench-secret"},
                report_file => filename:join(Dir, "system_metrics_report.json"), report => true},
    Rows = lists:append([cycles(Options, Collector),
                         nif_calls(Options),
                         fact_collection(),
                         network(Options, Collector),
                         idle(Options)]),
    ga4_collector_port:stop(Collector),
    Table = ["| measure | measured | target |\n|---|---|---|\n", RustRows,
             [io_lib:format("| ~s | ~s | ~s |~n", [M, V, T]) || {M, V, T} <- Rows]],
    io:put_chars(Table),
    Usage = case UsageRows of
                [] -> "The usage server's benchmark did not run.\n";
                _ -> ["| measure | measured | target |\n|---|---|---|\n", UsageRows]
            end,
    io:put_chars(["\n", Usage]),
    ok = file:write_file(filename:join(Root, "BENCHMARKS.md"),
                         unicode:characters_to_binary(benchmarks_md(Compared, Table, Usage))),
    io:format("~nWritten to BENCHMARKS.md~n"),
    case Met of
        true -> io:format("Every ratio met.~n");
        skipped -> io:format("The ratios were not measured (no MongooseIM build).~n");
        false -> io:format("A ratio was missed (see the first table).~n"), halt(1)
    end.

table(Rows) ->
    ["| measure | project / MongooseIM: median [p10..p90] (median times) | target |\n|---|---|---|\n",
     [io_lib:format("| ~s | ~s | ~s |~n", [M, V, T]) || {M, V, T} <- Rows]].

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

%% Busy time of the normal schedulers while Fun runs, in microseconds. A scheduler
%% spinning while it waits for work is not busy; one the OS took off the CPU while it was
%% busy still is (so a machine with fewer cores than busy threads inflates it).
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

%% A start argument validated and installed.
install(Argument) ->
    {ok, Configuration, _} = ?CORE:configure_argument(Argument),
    {ok, _} = ?CORE:start(Configuration).

nif_calls(Options) ->
    install(#{options => Options#{report => local}}),
    Large = large_facts(),
    Small = #{uptime_ms => 1000, node_count => 1},
    %% {wall-time target, normal-scheduler target}
    Normal = {"p99 < 20 µs", "< 100 µs"},
    Inline = {"(see its normal-scheduler time)", "< 100 µs"},
    Dirty = {"runs on a dirty scheduler (see below)", "(context, see below)"},
    HandOver = #{identity => undefined, stanza_totals => #{<<"a@h">> => #{<<"xmppIqSent">> => 1}}},
    Calls = [{"configure/1 (options)", Dirty, 1000, fun() -> ?CORE:configure_argument(#{options => Options}) end},
             {"follow/1 (a hand-over)", Dirty, 1000, fun() -> ?CORE:follow(HandOver) end},
             {"report_now/2, small facts (decoded on the caller's scheduler)", Inline, 200,
              fun() -> ?CORE:report_now(Small, undefined) end},
             {"report_now/2, large deployment", Dirty, 20, fun() -> ?CORE:report_now(Large, undefined) end},
             {"preview/1, large deployment (awaited)", Dirty, 20, fun() -> ?CORE:preview(Large) end},
             {"last_report/0, large deployment", Dirty, 20, fun() -> ?CORE:last_report() end}],
    IdleRate = idle_rate(),
    erlang:system_monitor(self(), [{long_schedule, 1}]),
    Rows = lists:append(
             [begin
                  {Samples, Busy} = sample(N, Call, IdleRate),
                  {P50, P99, Max} = percentiles(Samples),
                  [{"NIF " ++ Name ++ ": p50 / p99 / max wall time", [us(P50), " / ", us(P99), " / ", us(Max)],
                    WallTarget},
                   {"NIF " ++ Name ++ ": normal-scheduler time per call", us(Busy / N), BusyTarget}]
              end || {Name, {WallTarget, BusyTarget}, N, Call} <- Calls]),
    Stops = [begin install(#{options => Options#{report => local}}),
                   element(1, micros(fun ?NIF:stop/0)) end || _ <- lists:seq(1, 100)],
    {S50, S99, SMax} = percentiles(Stops),
    erlang:system_monitor(undefined),
    [{"normal schedulers' busy time in an idle VM (subtracted below)", io_lib:format("~.1f µs per ms", [IdleRate * 1000]),
      "(informative)"} | Rows] ++ [{"NIF stop/0 (after a start): p50 / p99 / max wall time", [us(S50), " / ", us(S99), " / ", us(SMax)],
              element(1, Normal)},
             {"long schedules (> 1 ms) during the NIF calls above", integer_to_list(length(flush_long_schedules())), "0"}].

%% Times each call alone; a cycle it starts is awaited after it, untimed, so that cycles
%% do not pile up on the core's runtime and slow the calls that follow. The normal
%% schedulers' busy time over the row, less what an idle VM spends over as long (its
%% background: timers, wake-ups), is the row's cost to them.
sample(N, Call, IdleRate) ->
    Self = self(),
    T0 = erlang:monotonic_time(microsecond),
    Busy = normal_busy(fun() -> Self ! {samples, [timed_call(Call) || _ <- lists:seq(1, N)]} end),
    Wall = erlang:monotonic_time(microsecond) - T0,
    note_threads(),
    receive {samples, Samples} -> {Samples, max(0.0, Busy - IdleRate * Wall)} end.

%% Busy microseconds of the normal schedulers per microsecond of an idle VM.
idle_rate() ->
    Busy = normal_busy(fun() -> timer:sleep(2000) end),
    Busy / 2000000.

timed_call(Call) ->
    {Micros, Result} = micros(Call),
    %% A cycle's start gives its reference and the facts dropped; configure/1 gives a
    %% configuration, a resource (a reference too), and a map.
    case Result of
        {ok, Ref, Dropped} when is_reference(Ref), is_list(Dropped) ->
            {ok, _, _, _} = ?CORE:await(Ref, 60000);
        _ ->
            ok
    end,
    Micros.

%% 1,000 report cycles through the service on a bare node, to the local collector: long
%% schedules on the normal schedulers (the NIF library is loaded first: loading it once
%% takes a few ms of the code server). Memory is measured side by side, before.
cycles(Options, Collector) ->
    {module, _} = code:ensure_loaded(?NIF),
    ga4_collector_port:clear(Collector),
    erlang:system_monitor(self(), [{long_schedule, 1}]),
    {ok, _} = ?SERVICE:start(Options),
    {Micros, _} = micros(fun() -> [{ok, _} = ?SERVICE:report_now() || _ <- lists:seq(1, 1000)] end),
    note_threads(),
    ok = ?SERVICE:stop(),
    erlang:system_monitor(undefined),
    [{"long schedules (> 1 ms) over 1,000 report cycles", long_schedules(), "0 in the service"},
     {"report cycle through the service, bare node, to the local collector", ms(Micros / 1000 / 1000),
      "(informative)"}].

%% The long schedules reported so far: how many, and which were not the service's (the
%% benchmark's own process, the collector's port).
long_schedules() ->
    All = flush_long_schedules(),
    Service = [W || {service, W} <- All],
    Others = [W || {other, W} <- All],
    [integer_to_list(length(Service)), " in the service",
     case Others of
         [] -> "";
         _ -> [io_lib:format("; ~b elsewhere: ", [length(Others)]), lists:join(", ", lists:sublist(Others, 3))]
     end].

flush_long_schedules() ->
    receive
        {monitor, Who, long_schedule, Info} -> [whose(Who, Info) | flush_long_schedules()]
    after 0 ->
        []
    end.

whose(Port, _Info) when is_port(Port) ->
    {other, case erlang:port_info(Port, name) of
                {name, Name} -> io_lib:format("a port (~s)", [Name]);
                undefined -> "a port, closed since"
            end};
whose(Pid, Info) ->
    In = proplists:get_value(in, Info),
    Ours = fun({M, _, _}) -> lists:prefix("mongoose_system_metrics", atom_to_list(M))
                                 orelse lists:prefix("service_mongoose_system_metrics", atom_to_list(M));
              (_) -> false
           end,
    %% By the function it ran: the service's processes may have ended since.
    case Ours(In) orelse Ours(proplists:get_value(out, Info)) of
        true -> {service, ""};
        false when Pid =:= self() -> {other, io_lib:format("the benchmark itself, in ~p", [In])};
        false -> {other, io_lib:format("~p", [In])}
    end.

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
    Samples = [element(1, micros(fun mongoose_system_metrics_collect:collect/0)) || _ <- lists:seq(1, 10)],
    persistent_term:erase(mongoose_config),
    {P50, _, _} = percentiles(Samples),
    [{"Erlang: collect the facts of a large MongooseIM deployment (adapter)", ms(P50 / 1000), "(informative)"}].

network(Options, Collector) ->
    ga4_collector_port:clear(Collector),
    Modules = maps:from_list([{M, #{backend => rdbms}} || M <- [mod_vcard, mod_mam, mod_muc, mod_roster]]),
    Facts = #{host_types => [I || I <- lists:seq(1, 250)], modules => maps:from_list([{I, Modules} || I <- lists:seq(1, 250)])},
    Two = Options#{tracking_id => [#{id => "G-BENCH00001", secret => "a"}, #{id => "G-BENCH00002", secret => "b"}]},
    install(#{options => Two}),
    {ok, Ref, []} = ?CORE:report_now(Facts, undefined),
    {ok, #{<<"destinations">> := Outcomes}, ok, _} = ?CORE:await(Ref, 60000),
    {ok, #{<<"event_count">> := EventCount}} = ?CORE:last_report(),
    ?CORE:stop(),
    Expected = (EventCount + 24) div 25,
    Requests = [N || #{<<"requests">> := N} <- Outcomes],
    Connections = connections(Collector),
    [{io_lib:format("requests per report and GA4 destination (~b events)", [EventCount]),
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
    note_threads(),
    ok = ?SERVICE:stop(),
    Hz = 100,
    %% A thread that ended during the wait used no CPU while idle; one that began counts whole.
    Spent = lists:sum([T1 - maps:get(Tid, Runtime0, 0) || {Tid, T1} <- maps:to_list(Runtime1)]),
    [{io_lib:format("idle CPU over ~b s: the service's threads / the whole VM", [Seconds]),
      io_lib:format("~.2f s / ~.2f s", [Spent / Hz, (Vm1 - Vm0) / Hz]), "no measurable CPU"},
     {"OS threads the service starts (the most seen at once, all benchmarks)",
      integer_to_list(get(most_threads)), "at most 2"}].

%% CPU time, in clock ticks, of each msm-runtime thread (by id) and of the whole VM.
cpu_ticks() ->
    {ok, Tasks} = file:list_dir("/proc/self/task"),
    Runtime = maps:from_list([{T, ticks(filename:join(["/proc/self/task", T, "stat"]))}
                              || T <- Tasks, comm(T) =:= "msm-runtime"]),
    {Runtime, ticks("/proc/self/stat")}.

%% Keeps the most msm-runtime threads seen at once.
note_threads() ->
    Now = length([T || T <- threads(), T =:= "msm-runtime"]),
    put(most_threads, max(Now, case get(most_threads) of undefined -> 0; N -> N end)).

%% The name of a thread; "" for one that has just ended.
comm(Task) ->
    case file:read_file(filename:join(["/proc/self/task", Task, "comm"])) of
        {ok, C} -> string:trim(binary_to_list(C));
        {error, _} -> ""
    end.

threads() ->
    {ok, Tasks} = file:list_dir("/proc/self/task"),
    [comm(T) || T <- Tasks].

%% utime + stime of a /proc stat line (fields 14 and 15, after the parenthesised name); 0
%% for a thread that has just ended.
ticks(Path) ->
    case file:read_file(Path) of
        {ok, Stat} ->
            [_, AfterName] = binary:split(Stat, <<") ">>),
            Fields = binary:split(AfterName, <<" ">>, [global]),
            binary_to_integer(lists:nth(12, Fields)) + binary_to_integer(lists:nth(13, Fields));
        {error, _} ->
            0
    end.

benchmarks_md(Compared, Table, Usage) ->
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
     "## Side by side with MongooseIM's own service\n\n",
     "Both services report on the same node to the same local collector, in one VM, round after ",
     "round, taking turns at going first; each round gives one ratio per measure (this project's ",
     "cost over MongooseIM's), so a busy machine slows both sides of a ratio alike. The table gives ",
     "the median ratio and the 10th and 90th percentiles, then the median times of each side as ",
     "context. MongooseIM's side is its own code: the collector, sender and file modules and jiffy ",
     "of the MongooseIM build (`lib.tar.gz`), run as its reporter process runs them (collect, ",
     "encode with jiffy, post with `httpc`, `file:write_file/2`). The node is MongooseIM's ",
     "configuration in the stand-ins of `tests/mongooseim_SUITE_data` (`bench/msm_bench_node.erl`): ",
     "small, one host type with the modules of MongooseIM's default configuration; large, 1,000 ",
     "host types of 40 modules (40,000 module events), 200 listeners and 100 pools. This project's ",
     "report is `report_now/0`, which returns the report; MongooseIM's goes to one destination, as ",
     "this project's does here. CPU is what every thread of the VM ran, spinning schedulers ",
     "included (`/proc/self/task/*/schedstat`); wall time runs from the trigger to the report ",
     "delivered and written; normal-scheduler time is the busy time of the schedulers that run the ",
     "host's processes. The normal-scheduler target is the large node's: there MongooseIM's ",
     "collector holds the host's schedulers for hundreds of milliseconds. On the small node both ",
     "spend a fraction of a millisecond there, most of it reading MongooseIM's configuration, which ",
     "only Erlang can do.\n\n",
     Compared,
     "\n## Context\n\n",
     "The large deployment is 1,000 host types of 40 modules, 200 listeners and 100 pools. ",
     "Rust rows come from `cargo bench --bench cycle` (median of 15 runs); the rest from ",
     "`bench/bench.escript`, in one VM with the NIF loaded.\n\n",
     Table,
     "\n## Reading the NIF rows\n\n",
     "`stop/0` runs on the normal schedulers; the p99 target of 20 µs is its. ",
     "`report_now/2` decodes small facts there too (its ",
     "wall time includes waking the core's runtime, and on this 2-core machine any wait for a ",
     "core, so its target is on its normal-scheduler time). Every call whose work grows with its input or touches ",
     "a file runs on a dirty scheduler instead, as the design asks of heavy work: `configure/1`, ",
     "`start/1` and `follow/1` on dirty I/O ones (they read or write files), `report_now/2` ",
     "(for facts over 1,000 terms; smaller ones are decoded on the caller's scheduler), ",
     "`validate/2`, `preview/1` (its row waits for the preview, built on the core's runtime) ",
     "and `last_report/0` on dirty CPU ones. Their wall time is the hop to the ",
     "dirty scheduler, any wait for a free one, and the work (decoding a large deployment's ",
     "facts takes tens of milliseconds there); it is not time taken from the host's schedulers, ",
     "so no wall-time target applies to them.\n\n",
     "What these calls cost the host's schedulers is the normal-scheduler time per call: the busy ",
     "time of the normal schedulers (`erlang:statistics(scheduler_wall_time)`) over all the calls ",
     "of a row, less what the same VM's normal schedulers are busy when idle over as long ",
     "(timers, wake-ups: the informative row above), divided by the number of calls. It includes ",
     "the benchmark's own loop and the caller's garbage collection of what the call returned, ",
     "and, on a machine with fewer cores than busy threads, time a busy scheduler thread spent ",
     "waiting for a core the dirty scheduler or the core's runtime held; 0.0 means no more than the idle background. ",
     "A call that starts a cycle is awaited with its cycle, so its row also counts what the ",
     "normal schedulers did meanwhile (receiving the result, and whatever else the VM ran over a ",
     "large cycle's tenth of a second): for the calls on dirty schedulers these rows are context; ",
     "the calls on the normal schedulers have the 100 µs target. No call and no cycle held a normal scheduler for more than 1 ms ",
     "(the shortest span `erlang:system_monitor/2` can watch): see the long-schedule rows.\n",
     "\n## The usage server\n\n",
     "`native/usage_server/benches/ingest.rs` starts the real `mongoose_usage_server` binary on a ",
     "fresh SQLite file, then on a fresh PostgreSQL database (of the throwaway server ",
     "`scripts/with-postgres.sh` starts, `fsync` on), and has 10,000 deployments report to it over ",
     "HTTP: each a distinct UUID v4 client id with one 30-event report shaped like the service's ",
     "(host and domain counts, 16 `module_with_opt` events with their backends, `cluster`, ",
     "`http_api`, `transport_mechanism`, `tls_option`, `outgoing_pool`, six `xmpp_stanza_count`), ",
     "posted as the service posts it: a request of 25 events, then, once it is answered, one of 5. ",
     "32 clients on the same machine take the deployments in turn, over kept-alive connections. ",
     "Each request must be answered 204, which the server sends only once the request is committed ",
     "(SQLite: WAL, `synchronous=FULL`, one writer; PostgreSQL: a pool of 8 connections), and at the ",
     "end the database must hold 10,000 reports of 30 events, 300,000 events in all. Events per ",
     "second are those events over the wall time from the first request to the last answer. ",
     "Latency is a request's, as its client saw it: with 32 clients most of it is waiting for the ",
     "commits ahead of it. Size is what the database grew by, scaled to a million events, with no ",
     "`VACUUM`: for SQLite the file and its `-wal` after the checkpoint the server makes when it ",
     "stops, for PostgreSQL `pg_database_size` (tables and indexes, not its WAL). Every event is ",
     "kept as its JSON in `events` and each of its parameters as a row of `params`, with their ",
     "indexes (`native/usage_server/API.md`, Storage). The server, its database and the clients ",
     "share this machine's cores.\n\n",
     Usage,
     "\n## Rerun\n\n```sh\nmake bench            # about four minutes; BENCH_IDLE_SECONDS=10 shortens the idle part\n```\n\n",
     "The comparison needs a MongooseIM build (`MONGOOSEIM_BUILD`, or `mongooseim-6.3.3` beside the ",
     "checkout); without one it says so and the rest runs. `make bench` exits with status 1 when a ",
     "ratio is missed. The usage server's benchmark runs under `scripts/with-postgres.sh`, which ",
     "installs PostgreSQL when it is missing; run alone, ",
     "`cargo bench -p mongoose_usage_server --bench ingest` measures SQLite and says PostgreSQL was ",
     "skipped.\n"].
