#!/usr/bin/env escript
%%! -noshell
%% The demo: starts the local GA4 collector, starts service_mongoose_system_metrics in
%% this node exactly as MongooseIM would, waits for the first report and shows what was
%% logged, what the collector received and the report file. Nothing leaves the machine.
-mode(compile).

main(_) ->
    Root = filename:dirname(filename:dirname(filename:absname(escript:script_name()))),
    true = code:add_patha(filename:join(Root, "_build/default/lib/mongoose_system_metrics/ebin")),
    [load_helper(Root, M) || M <- ["msm_json", "ga4_collector_port"]],
    os:putenv("GA4_COLLECTOR", filename:join(Root, "target/release/ga4_collector")),
    ok = logger:set_handler_config(default, formatter, {logger_formatter, #{single_line => false}}),
    Collector = ga4_collector_port:start(),
    Url = ga4_collector_port:url(Collector),
    Dir = filename:join(Root, "_build/demo"),
    ReportFile = filename:join(Dir, "system_metrics_report.json"),
    _ = file:delete(ReportFile),
    section("1. A local GA4 collector stands in for Google at " ++ Url),
    Options = #{initial_report => 1000,
                periodic_report => 10800000,
                tracking_id => #{id => "G-DEMO000001", secret => "demo-api-secret"},
                google_analytics_url => Url,
                report_file => ReportFile},
    section("2. Starting service_mongoose_system_metrics with these options (no `report` key,\n"
            "   so the service logs the consent notice):"),
    io:format("   ~p~n~n", [Options#{tracking_id := #{id => "G-DEMO000001", secret => "<not shown>"}}]),
    {ok, _Pid} = service_mongoose_system_metrics:start(Options),
    timer:sleep(200),
    section("3. Waiting for the first report (initial_report = 1 s)..."),
    Requests = ga4_collector_port:wait_for_requests(Collector, <<"/mp/collect">>, 1),
    timer:sleep(300),
    section("4. The collector received:"),
    [io:format("   POST ~s?measurement_id=~s  events: ~b  GA4 rule problems: ~p~n",
               [P, Id, length(maps:get(<<"events">>, Json)), Problems])
     || #{<<"path">> := P, <<"measurement_id">> := Id, <<"json">> := Json, <<"problems">> := Problems} <- Requests],
    section("5. The report file " ++ ReportFile ++ ":"),
    {ok, Bytes} = file:read_file(ReportFile),
    io:format("~s~n", [Bytes]),
    ok = service_mongoose_system_metrics:stop(),
    ga4_collector_port:stop(Collector),
    section("Done: the service is stopped; nothing was sent beyond 127.0.0.1.").

load_helper(Root, Name) ->
    Source = filename:join([Root, "tests", Name ++ ".erl"]),
    {ok, Module, Binary} = compile:file(Source, [binary, report]),
    {module, Module} = code:load_binary(Module, Source, Binary).

section(Text) ->
    io:format("~n== ~s~n", [Text]).
