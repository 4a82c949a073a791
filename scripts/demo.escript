#!/usr/bin/env escript
%%! -noshell
%% The demo: starts the local GA4 collector, starts service_mongoose_system_metrics in
%% this node exactly as MongooseIM would, waits for the first report and shows what was
%% logged, what the collector received and the report file; then starts the project's own
%% usage server, has the node report to it instead, and prints its dashboard's URL.
%% Nothing leaves the machine.
-mode(compile).

main(_) ->
    Root = filename:dirname(filename:dirname(filename:absname(escript:script_name()))),
    true = code:add_patha(filename:join(Root, "_build/default/lib/mongoose_system_metrics/ebin")),
    [load_helper(Root, M) || M <- ["msm_json", "ga4_collector_port", "usage_server_port"]],
    os:putenv("GA4_COLLECTOR", filename:join(Root, "target/release/ga4_collector")),
    os:putenv("MONGOOSE_USAGE_SERVER", filename:join(Root, "target/release/mongoose_usage_server")),
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
    own_server(Dir, Options),
    section("Done: the service is stopped; nothing was sent beyond 127.0.0.1.").

%% The same node reporting to mongoose_usage_server, which keeps the report in SQLite and
%% shows it; the server stays up until Enter (at once when there is no terminal).
own_server(Dir, Options) ->
    Database = filename:join(Dir, "usage.sqlite3"),
    [_ = file:delete(Database ++ Suffix) || Suffix <- ["", "-wal", "-shm"]],
    Server = usage_server_port:start(["--database", "sqlite:" ++ Database, "--stream", "G-DEMO000001=demo-api-secret"]),
    Url = usage_server_port:url(Server),
    section("6. Your own server instead of Google: mongoose_usage_server at " ++ Url ++ "\n"
            "   (SQLite in " ++ Database ++ "); the service now reports there, with\n"
            "   google_analytics_url = \"" ++ Url ++ "\""),
    {ok, _} = service_mongoose_system_metrics:start(Options#{google_analytics_url := Url, report => true,
                                                              initial_report => 600000}),
    {ok, _} = service_mongoose_system_metrics:report_now(),
    {200, Deployments} = usage_server_port:get(Server, "/api/deployments"),
    section("7. What the server keeps, GET " ++ Url ++ "/api/deployments:"),
    io:format("   ~s~n", [Deployments]),
    ok = service_mongoose_system_metrics:stop(),
    section("8. The dashboard: " ++ Url ++ "/\n   Press Enter to stop the server."),
    _ = io:get_line(""),
    0 = usage_server_port:stop(Server),
    ok.

load_helper(Root, Name) ->
    Source = filename:join([Root, "tests", Name ++ ".erl"]),
    {ok, Module, Binary} = compile:file(Source, [binary, report]),
    {module, Module} = code:load_binary(Module, Source, Binary).

section(Text) ->
    io:format("~n== ~s~n", [Text]).
