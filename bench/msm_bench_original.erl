%% @doc MongooseIM's own system metrics service, run for comparison in `make bench': its
%% collector, sender and file modules and jiffy, taken unchanged from a MongooseIM build
%% (`lib.tar.gz' of the build `bin/make-release' belongs to), doing what its reporter
%% process does each period.
-module(msm_bench_original).
-export([find_build/1, load/2, cycle/3]).

-define(MODULES, ["mongoose_system_metrics_collector", "mongoose_system_metrics_sender",
                  "mongoose_system_metrics_file"]).

%% @doc The MongooseIM build to take the modules from: MONGOOSEIM_BUILD, or a shared
%% mongooseim-6.3.3 beside the checkout at `Root'.
-spec find_build(file:filename()) -> {ok, file:filename()} | {error, string()}.
find_build(Root) ->
    Candidates = case os:getenv("MONGOOSEIM_BUILD") of
                     false -> [filename:join(Root, "../shared/mongooseim-6.3.3"), "/work/shared/mongooseim-6.3.3"];
                     Build -> [Build]
                 end,
    case [C || C <- Candidates, filelib:is_regular(filename:join(C, "lib.tar.gz"))] of
        [Found | _] -> {ok, filename:absname(Found)};
        [] -> {error, "no MongooseIM build with lib.tar.gz (set MONGOOSEIM_BUILD)"}
    end.

%% @doc Unpacks jiffy and MongooseIM's three report modules into `Dir' and loads them;
%% returns MongooseIM's version.
-spec load(file:filename(), file:filename()) -> string().
load(Build, Dir) ->
    {ok, Names} = erl_tar:table(filename:join(Build, "lib.tar.gz"), [compressed]),
    [Mim] = [N || N <- Names, match =:= re:run(N, "^(\\./)?mongooseim-[0-9.]+/?$", [{capture, none}])],
    Vsn = lists:last(string:split(string:trim(Mim, trailing, "/"), "-", trailing)),
    Beams = [N || N <- Names, M <- ?MODULES, lists:suffix("/ebin/" ++ M ++ ".beam", N)],
    Jiffy = [N || N <- Names, match =:= re:run(N, "^(\\./)?jiffy-[^/]+/(ebin|priv)/.", [{capture, none}])],
    ok = erl_tar:extract(filename:join(Build, "lib.tar.gz"), [compressed, {cwd, Dir}, {files, Beams ++ Jiffy}]),
    [JiffyEbin] = filelib:wildcard(filename:join(Dir, "jiffy-*/ebin")),
    true = code:add_patha(JiffyEbin),
    {module, jiffy} = code:ensure_loaded(jiffy),
    [{module, _} = code:load_abs(filename:rootname(filename:join(Dir, B))) || B <- Beams],
    Vsn.

%% @doc One report, as MongooseIM's service makes it when its timer fires: a monitored
%% reporter collects (with the previous report, for the stanza increments), sends to each
%% tracking id, writes the file and hands the report back. Returns the report.
-spec cycle(list(), string(), [#{id := string(), secret := string()}]) -> list().
cycle(Previous, ClientId, TrackingIds) ->
    Parent = self(),
    {Pid, Monitor} =
        spawn_monitor(fun() ->
                              Reports = mongoose_system_metrics_collector:collect(Previous),
                              ok = mongoose_system_metrics_sender:send(ClientId, Reports, TrackingIds),
                              ok = mongoose_system_metrics_file:save(Reports),
                              Parent ! {prev_report, self(), Reports}
                      end),
    receive
        {prev_report, Pid, Reports} ->
            receive {'DOWN', Monitor, process, Pid, _} -> Reports end;
        {'DOWN', Monitor, process, Pid, Reason} ->
            error({original_reporter_failed, Reason})
    end.
