%% @doc The side-by-side part of `make bench': this project's service and MongooseIM's own
%% (`msm_bench_original') report on the same node (`msm_bench_node') to the same local
%% collector, in one VM, interleaved round by round, and each round's costs are compared
%% as ratios (project / original), so that a busy machine slows both alike.
%%
%% Per report cycle: CPU is the time every thread of the VM ran (schedulers, dirty
%% schedulers, the core's runtime, httpc's processes; `/proc/self/task/*/schedstat'),
%% wall time runs from the trigger to the report delivered and written, normal-scheduler
%% time is the busy time of the schedulers that run the host's processes.
-module(msm_bench_compare).
-export([run/3]).

-define(SERVICE, service_mongoose_system_metrics).
-define(TRACKING_ID, "G-BENCH00001").
-define(SECRET, "bench-secret").
-define(CLIENT_ID, "5b1c8a34-3d0e-4f6a-9b57-2c4e8d1f0a6b").

%% {size, rounds, cycles per round and side}
-define(PLAN, [{small, 15, 20}, {large, 9, 1}]).
-define(RSS_CYCLES, 20).

%% The ratios to meet: {measure, size, at most}.
-define(TARGETS, [{cpu, small, 1.0}, {wall, small, 2.0}, {cpu, large, 0.5}, {normal, large, 0.05}]).
-define(RSS_TARGET_MB, 32).

-type row() :: {iodata(), iodata(), iodata()}.

%% @doc Runs the comparison; returns the table's rows and whether every target was met,
%% or a line saying why it could not run.
-spec run(file:filename(), ga4_collector_port:collector(), file:filename()) ->
          {ok, [row()], boolean()} | {skipped, string()}.
run(Root, Collector, Dir) ->
    case msm_bench_original:find_build(Root) of
        {error, Why} ->
            {skipped, Why};
        {ok, Build} ->
            Vsn = msm_bench_original:load(Build, filename:join(Dir, "original-code")),
            ok = stand_in_application(Vsn),
            {ok, _} = application:ensure_all_started(inets),
            Node = #{url => ga4_collector_port:url(Collector), log_dir => mkdir(Dir, "original")},
            Options = #{tracking_id => #{id => ?TRACKING_ID, secret => ?SECRET}, report => true,
                        report_file => filename:join(mkdir(Dir, "project"), "system_metrics_report.json")},
            %% First, while the VM has done nothing else: memory.
            Rss = rss(Node, Options, Collector),
            Compared = [{Size, compare(Size, Rounds, Cycles, Node, Options, Collector)} || {Size, Rounds, Cycles} <- ?PLAN],
            {Rows, Met} = verdicts(Vsn, Compared, Rss),
            {ok, Rows, Met}
    end.

%% MongooseIM's application, as both services read its version.
stand_in_application(Vsn) ->
    ok = application:load({application, mongooseim,
                           [{description, "MongooseIM (bench stand-in)"}, {vsn, Vsn}, {modules, []},
                            {registered, []}, {applications, [kernel, stdlib]}]}),
    application:start(mongooseim).

mkdir(Dir, Name) ->
    Path = filename:join(Dir, Name),
    ok = filelib:ensure_dir(filename:join(Path, "x")),
    Path.

%% Resident memory of the VM before the service starts, and after RSS_CYCLES reports of
%% the large node and a garbage collection of every process.
rss(Node, Options, Collector) ->
    ok = msm_bench_node:set(large, Node),
    erlang:garbage_collect(),
    Before = rss_kb(),
    {ok, _} = ?SERVICE:start(Options),
    [begin {ok, _} = ?SERVICE:report_now(), ga4_collector_port:clear(Collector) end || _ <- lists:seq(1, ?RSS_CYCLES)],
    [erlang:garbage_collect(P) || P <- processes()],
    After = rss_kb(),
    ok = ?SERVICE:stop(),
    {Before, After}.

%% Rounds of Cycles reports by each side, the side going first alternating.
compare(Size, Rounds, Cycles, Node, Options, Collector) ->
    ok = msm_bench_node:set(Size, Node),
    {ok, _} = ?SERVICE:start(Options),
    Tracking = [#{id => ?TRACKING_ID, secret => ?SECRET}],
    Project = fun(State) -> {ok, _} = ?SERVICE:report_now(), State end,
    Original = fun(Previous) -> msm_bench_original:cycle(Previous, ?CLIENT_ID, Tracking) end,
    %% One of each first, untimed: the first report of each side differs (no previous one).
    _ = Project(none),
    Previous = Original([]),
    {Samples, _} =
        lists:mapfoldl(
          fun(Round, Prev) ->
                  ga4_collector_port:clear(Collector),
                  case Round rem 2 of
                      0 ->
                          {P, _} = measure(Cycles, Project, none),
                          {O, Prev1} = measure(Cycles, Original, Prev);
                      1 ->
                          {O, Prev1} = measure(Cycles, Original, Prev),
                          {P, _} = measure(Cycles, Project, none)
                  end,
                  {{P, O}, Prev1}
          end, Previous, lists:seq(1, Rounds)),
    ok = ?SERVICE:stop(),
    Samples.

%% Costs per cycle of Cycles runs of Fun, threading its state.
measure(Cycles, Fun, State0) ->
    erlang:garbage_collect(),
    Cpu0 = cpu_ns(),
    Normal0 = normal_busy(),
    T0 = erlang:monotonic_time(nanosecond),
    State = lists:foldl(fun(_, S) -> Fun(S) end, State0, lists:seq(1, Cycles)),
    T1 = erlang:monotonic_time(nanosecond),
    Normal1 = normal_busy(),
    Cpu1 = cpu_ns(),
    {#{cpu => (Cpu1 - Cpu0) / Cycles, wall => (T1 - T0) / Cycles, normal => (Normal1 - Normal0) / Cycles}, State}.

%% Nanoseconds every thread of this VM has run.
cpu_ns() ->
    {ok, Tasks} = file:list_dir("/proc/self/task"),
    lists:sum([task_ns(T) || T <- Tasks]).

task_ns(Task) ->
    case file:read_file(filename:join(["/proc/self/task", Task, "schedstat"])) of
        {ok, Stat} -> binary_to_integer(hd(binary:split(Stat, <<" ">>)));
        {error, _} -> 0  % ended meanwhile
    end.

%% Busy time of the normal schedulers (the unit cancels out in the ratios).
normal_busy() ->
    erlang:system_flag(scheduler_wall_time, true),
    Normal = erlang:system_info(schedulers),
    lists:sum([Active || {Id, Active, _Total} <- erlang:statistics(scheduler_wall_time), Id =< Normal]).

rss_kb() ->
    {ok, Status} = file:read_file("/proc/self/status"),
    {match, [Kb]} = re:run(Status, "VmRSS:\\s+([0-9]+) kB", [{capture, all_but_first, list}]),
    list_to_integer(Kb).

%% The table: for each size and measure, the median ratio and its spread, then the
%% absolute medians as context; and whether every target was met.
verdicts(Vsn, Compared, {RssBefore, RssAfter}) ->
    Grown = (RssAfter - RssBefore) / 1024,
    Ratios = [{Measure, Size, ratio_stats([maps:get(Measure, P) / maps:get(Measure, O) || {P, O} <- Samples]),
               median([maps:get(Measure, P) || {P, _} <- Samples]), median([maps:get(Measure, O) || {_, O} <- Samples])}
              || {Size, Samples} <- Compared, Measure <- [cpu, wall, normal]],
    Checks = [{lists:keyfind(Size, 2, [R || R <- Ratios, element(1, R) =:= Measure]), Max}
              || {Measure, Size, Max} <- ?TARGETS],
    Met = lists:all(fun({{_, _, {Median, _, _}, _, _}, Max}) -> Median =< Max end, Checks)
        andalso Grown < ?RSS_TARGET_MB,
    Rows = [{io_lib:format("~s node: ~s, project / MongooseIM ~s", [Size, measure_name(Measure), Vsn]),
             io_lib:format("**~.2fx** [~.2f..~.2f] (~s vs ~s)", [Median, P10, P90, ms(P), ms(O)]),
             target(Measure, Size)}
            || {Measure, Size, {Median, P10, P90}, P, O} <- Ratios]
        ++ [{io_lib:format("large node: resident memory added by ~b reports (VM before the service -> after)", [?RSS_CYCLES]),
             io_lib:format("**~.1f MB** (~b -> ~b kB)", [Grown, RssBefore, RssAfter]),
             io_lib:format("< ~b MB", [?RSS_TARGET_MB])}],
    {Rows, Met}.

measure_name(cpu) -> "CPU per report";
measure_name(wall) -> "wall time, trigger to delivered and written";
measure_name(normal) -> "normal-scheduler time per report".

target(Measure, Size) ->
    case lists:keyfind(Size, 2, [T || T <- ?TARGETS, element(1, T) =:= Measure]) of
        {_, _, Max} -> io_lib:format("<= ~.2fx", [Max]);
        false -> "(context)"
    end.

ms(Ns) -> io_lib:format("~.2f ms", [Ns / 1.0e6]).

median(Xs) -> element(1, ratio_stats(Xs)).

%% Median, 10th and 90th percentiles.
ratio_stats(Xs) ->
    Sorted = lists:sort(Xs),
    N = length(Sorted),
    At = fun(P) -> lists:nth(max(1, min(N, round(P * (N - 1)) + 1)), Sorted) end,
    {At(0.5), At(0.1), At(0.9)}.
