%% @doc The NIF API called directly with hand-made facts, against the local collector:
%% validation, the asynchronous cycle and its message, chunking, files and failures.
-module(nif_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(NIF, service_mongoose_system_metrics_nif).

all() ->
    [configure_keeps_the_secret_inside_the_core,
     report_now_answers_at_once_and_sends_the_result_later,
     small_facts_are_decoded_inline_and_large_ones_on_a_dirty_scheduler,
     chunks_hold_at_most_25_events,
     every_destination_gets_every_chunk,
     the_file_holds_the_events_as_sent_and_no_secret,
     last_report_is_the_last_finished_cycle,
     preview_sends_and_writes_nothing,
     a_bad_start_leaves_the_running_configuration,
     bad_facts_are_left_out_and_named,
     odd_module_options_never_lose_the_report,
     a_collector_that_is_down_is_an_outcome_not_a_crash,
     a_500_is_an_outcome_not_a_crash,
     calls_before_start_are_refused,
     hostile_options_are_refused_by_name,
     hostile_facts_are_left_out_and_named,
     hostile_terms_leave_no_panic_on_stderr].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(mongoose_system_metrics),
    Config.

end_per_suite(_Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    Collector = ga4_collector_port:start(),
    [{collector, Collector}, {dir, msm_test:fresh_dir(Config, "nif")} | Config].

end_per_testcase(_Case, Config) ->
    ?NIF:stop(),
    ga4_collector_port:stop(?config(collector, Config)).

start(Config) ->
    start(Config, #{}).

start(Config, Extra) ->
    Options = msm_test:options(?config(collector, Config), ?config(dir, Config), Extra),
    {ok, Started} = ?NIF:start(#{options => Options, delivery => msm_test:fast_delivery()}),
    Started.

%% Facts of a node with N host types, each running mod_vcard on rdbms.
facts(HostTypes) ->
    Modules = maps:from_list([{<<"host", (integer_to_binary(I))/binary>>, #{mod_vcard => #{backend => rdbms}}}
                              || I <- lists:seq(1, HostTypes)]),
    #{uptime_ms => 90061000, node_count => 1, version => "6.8.0",
      host_types => maps:keys(Modules), modules => Modules}.

%% A cycle's result, with the whole report its summary stands for.
cycle(Facts) ->
    {ok, Ref} = ?NIF:report_now(Facts),
    receive
        {mongoose_system_metrics_report, Ref, Result} -> whole(Result)
    after 20000 ->
        error(no_cycle_result)
    end.

%% The message holds the report that last_report/0 then gives, its events as one binary of
%% JSON text.
whole({ok, Report, FileResult}) ->
    ?assertEqual({ok, Report}, ?NIF:last_report()),
    ?assert(is_binary(maps:get(<<"events">>, Report))),
    #{<<"events">> := Events} = Decoded = msm_test:decoded(Report),
    ?assertEqual(length(Events), maps:get(<<"event_count">>, Report)),
    {ok, Decoded, FileResult};
whole(Error) ->
    Error.

decoded({ok, Report}) -> {ok, msm_test:decoded(Report)};
decoded(Other) -> Other.

configure_keeps_the_secret_inside_the_core(Config) ->
    Options = msm_test:options(?config(collector, Config), ?config(dir, Config), #{}),
    {ok, Configuration, Started} = ?NIF:configure(#{options => Options}),
    ?assertMatch(#{mode := on, notice := false, client_id := null, destinations := [<<"G-OPERATOR1">>]}, Started),
    ?assertNot(msm_test:contains(term_to_binary({Configuration, Started}), "operator-secret-123")),
    ?assertNot(filelib:is_file(filename:join(?config(dir, Config), "system_metrics_client_id"))),
    ?assertEqual({error, not_started}, ?NIF:report_now(#{})),
    {ok, #{client_id := ClientId}} = ?NIF:start(Configuration),
    ?assert(msm_test:is_uuid_v4(ClientId)),
    {ok, #{<<"client_id">> := ClientId}, ok} = cycle(#{node_count => 1}).

report_now_answers_at_once_and_sends_the_result_later(Config) ->
    #{mode := on, client_id := ClientId} = start(Config),
    {ok, Ref} = ?NIF:report_now(facts(2)),
    ?assert(is_reference(Ref)),
    receive
        {mongoose_system_metrics_report, Ref, {ok, _, ok} = Result} ->
            {ok, Report, ok} = whole(Result),
            #{<<"client_id">> := ClientId, <<"schema_version">> := 4, <<"mode">> := <<"on">>, <<"events">> := Events,
              <<"destinations">> := [#{<<"id">> := <<"G-OPERATOR1">>, <<"result">> := <<"delivered">>}]} = Report,
            ?assert(msm_test:is_uuid_v4(ClientId)),
            Cluster = msm_test:event(<<"cluster">>, Events),
            ?assertEqual(#{<<"uptime">> => <<"0001-01:01:01">>, <<"version">> => <<"6.8.0">>,
                           <<"node_number">> => 1}, maps:get(<<"params">>, Cluster)),
            ?assertEqual(#{<<"value">> => 2}, maps:get(<<"params">>, msm_test:event(<<"host_count">>, Events)))
    after 20000 ->
        error(no_message)
    end.

small_facts_are_decoded_inline_and_large_ones_on_a_dirty_scheduler(Config) ->
    start(Config),
    ?assert(?NIF:decodes_inline(facts(30))),
    %% A long text counts by its size, a large deployment by its host types.
    ?assertNot(?NIF:decodes_inline((facts(1))#{version => binary:copy(<<"6">>, 100000)})),
    ?assertNot(?NIF:decodes_inline(facts(1000))),
    ?assertNot(?NIF:decodes_inline(#{cluster => #{members => [facts(300), facts(300)]}})),
    %% Either way, the same report.
    Events = fun(Start) ->
                     {ok, Ref} = Start(facts(30)),
                     receive {mongoose_system_metrics_report, Ref, R} -> {ok, #{<<"events">> := E}, ok} = R, E
                     after 20000 -> error(no_cycle) end
             end,
    ?assertEqual(Events(fun ?NIF:report_now_inline/1), Events(fun ?NIF:report_now_dirty/1)).

chunks_hold_at_most_25_events(Config) ->
    start(Config),
    Collector = ?config(collector, Config),
    %% 30 module events + host_count + custom_module_count + cluster = 33 events.
    {ok, #{<<"events">> := Events}, ok} = cycle(facts(30)),
    ?assertEqual(33, length(Events)),
    Requests = ga4_collector_port:wait_for_requests(Collector, <<"/mp/collect">>, 2),
    ?assertEqual([25, 8], [length(E) || #{<<"json">> := #{<<"events">> := E}} <- Requests]),
    ?assertEqual(Events, ga4_collector_port:events(Requests)),
    [?assertEqual([], P) || #{<<"problems">> := P} <- Requests].

every_destination_gets_every_chunk(Config) ->
    BuiltIn = #{id => <<"G-BUILTIN1">>, secret => <<"builtin-secret-456">>},
    Options = msm_test:options(?config(collector, Config), ?config(dir, Config), #{}),
    {ok, #{destinations := [<<"G-BUILTIN1">>, <<"G-OPERATOR1">>]}} =
        ?NIF:start(#{options => Options, built_in_tracking_id => BuiltIn, delivery => msm_test:fast_delivery()}),
    {ok, #{<<"destinations">> := Outcomes, <<"client_id">> := ClientId}, ok} = cycle(facts(30)),
    ?assertEqual([{<<"G-BUILTIN1">>, <<"delivered">>, 2}, {<<"G-OPERATOR1">>, <<"delivered">>, 2}],
                 [{Id, R, N} || #{<<"id">> := Id, <<"result">> := R, <<"delivered">> := N} <- Outcomes]),
    Requests = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 4),
    Seen = lists:sort([{Id, Secret} || #{<<"measurement_id">> := Id, <<"api_secret">> := Secret} <- Requests]),
    ?assertEqual([{<<"G-BUILTIN1">>, <<"builtin-secret-456">>}, {<<"G-BUILTIN1">>, <<"builtin-secret-456">>},
                  {<<"G-OPERATOR1">>, <<"operator-secret-123">>}, {<<"G-OPERATOR1">>, <<"operator-secret-123">>}],
                 Seen),
    ?assertEqual([ClientId], lists:usort([C || #{<<"json">> := #{<<"client_id">> := C}} <- Requests])).

the_file_holds_the_events_as_sent_and_no_secret(Config) ->
    #{report_file := File} = start(Config),
    {ok, Report, ok} = cycle(facts(30)),
    ?assertEqual(maps:remove(<<"event_count">>, Report), msm_test:read_json(File)),
    Requests = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 2),
    ?assertEqual(ga4_collector_port:events(Requests), maps:get(<<"events">>, msm_test:read_json(File))),
    {ok, Bytes} = file:read_file(File),
    ?assertNot(msm_test:contains(Bytes, "operator-secret-123")),
    ?assertNot(msm_test:contains(Bytes, "host1")),
    {ok, ClientIdFile} = file:read_file(filename:join(filename:dirname(File), "system_metrics_client_id")),
    [FileId | _] = binary:split(ClientIdFile, <<"\n">>),
    ?assertEqual(maps:get(<<"client_id">>, Report), FileId).

last_report_is_the_last_finished_cycle(Config) ->
    start(Config),
    {ok, First, ok} = cycle(facts(1)),
    ?assertEqual({ok, First}, decoded(?NIF:last_report())),
    {ok, Second, ok} = cycle(facts(3)),
    ?assertEqual({ok, Second}, decoded(?NIF:last_report())),
    ?assertNotEqual(First, Second).

preview_sends_and_writes_nothing(Config) ->
    #{report_file := File} = start(Config),
    {ok, Preview} = decoded(?NIF:preview(facts(30))),
    [Planned] = maps:get(<<"destinations">>, Preview),
    ?assertMatch(#{<<"id">> := <<"G-OPERATOR1">>, <<"protocol">> := <<"ga4">>, <<"result">> := <<"not_sent">>,
                   <<"requests">> := 2, <<"delivered">> := 0, <<"attempts">> := 0, <<"sha256">> := [_, _]}, Planned),
    {ok, Sent, ok} = cycle(facts(30)),
    ?assertEqual(maps:get(<<"events">>, Preview), maps:get(<<"events">>, Sent)),
    %% Byte for byte: the preview's bodies are the bodies the collector received.
    Received = [B || #{<<"body">> := B} <- ga4_collector_port:requests(?config(collector, Config))],
    ?assertEqual(Received, [B || #{<<"body">> := B} <- maps:get(<<"requests">>, Preview)]),
    [#{<<"sha256">> := Hashes}] = maps:get(<<"destinations">>, Sent),
    ?assertEqual(maps:get(<<"sha256">>, Planned), Hashes),
    ok = file:delete(File),
    {ok, _} = ?NIF:preview(facts(30)),
    timer:sleep(200),
    ?assertNot(filelib:is_file(File)),
    ?assertEqual(2, length(ga4_collector_port:requests(?config(collector, Config)))).

a_bad_start_leaves_the_running_configuration(Config) ->
    #{client_id := ClientId} = start(Config),
    {error, {invalid_option, periodic_report, _}} = ?NIF:start(#{options => #{periodic_report => 0}}),
    {ok, #{<<"client_id">> := ClientId, <<"destinations">> := [#{<<"result">> := <<"delivered">>}]}, ok} =
        cycle(facts(1)).

bad_facts_are_left_out_and_named(Config) ->
    start(Config),
    %% One odd fact never costs the report: it is left out, named, and the rest is sent.
    {ok, Ref, Dropped} = ?NIF:report_now(#{uptime_ms => -1, node_count => 2, <<"no_such_fact_xyz">> => 1}),
    ?assertMatch([{uptime_ms, <<"fact uptime_ms = -1: expected a non-negative integer">>},
                  {<<"no_such_fact_xyz">>, _}], lists:sort(Dropped)),
    receive
        {mongoose_system_metrics_report, Ref, {ok, _, ok} = Result} ->
            {ok, #{<<"events">> := Events}, ok} = whole(Result),
            ?assertEqual([#{<<"node_number">> => 2}], [P || #{<<"name">> := <<"cluster">>, <<"params">> := P} <- Events])
    after 20000 -> error(no_cycle_result)
    end,
    %% Facts that are not a map at all are refused.
    {error, {invalid_fact, facts, _}} = ?NIF:report_now(not_a_map),
    {error, {invalid_fact, facts, _}} = ?NIF:preview([]).

odd_module_options_never_lose_the_report(Config) ->
    start(Config),
    Odd = #{mod_vcard => #{backend => rdbms, host => <<"vjud.secret.example">>, pid => self(),
                           ref => make_ref(), fn => fun() -> ok end, bin => <<255, 0>>,
                           long => binary:copy(<<"x">>, 100000)},
            mod_secret_plugin => [{password, "hunter2"}],
            mod_muc => {weird, tuple}},
    {ok, #{<<"events">> := Events}, ok} = cycle(#{modules => #{<<"h">> => Odd}}),
    Modules = [maps:get(<<"params">>, E) || E <- msm_test:events_named(<<"module_with_opt">>, Events)],
    ?assertEqual([#{<<"module">> => <<"mod_muc">>},
                  #{<<"module">> => <<"mod_vcard">>, <<"backend">> => <<"rdbms">>}], Modules),
    ?assertEqual(#{<<"value">> => 1}, maps:get(<<"params">>, msm_test:event(<<"custom_module_count">>, Events))),
    [#{<<"body">> := Body}] = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    [?assertNot(msm_test:contains(Body, Private)) || Private <- ["vjud", "hunter2", "mod_secret_plugin"]].

a_collector_that_is_down_is_an_outcome_not_a_crash(Config) ->
    {ok, Listen} = gen_tcp:listen(0, []),
    {ok, ClosedPort} = inet:port(Listen),
    ok = gen_tcp:close(Listen),
    start(Config, #{google_analytics_url => "http://127.0.0.1:" ++ integer_to_list(ClosedPort)}),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"failed">>, <<"error">> := Error}]}, ok} = cycle(facts(1)),
    ?assert(msm_test:contains(Error, "connection failed")),
    ?assertNot(msm_test:contains(Error, "operator-secret-123")).

a_500_is_an_outcome_not_a_crash(Config) ->
    start(Config),
    ga4_collector_port:set_mode(?config(collector, Config), {status, 500}),
    {ok, #{<<"destinations">> := [Failed]}, ok} = cycle(facts(30)),
    ?assertMatch(#{<<"result">> := <<"failed">>, <<"status">> := 500, <<"delivered">> := 0, <<"attempts">> := 4,
                   <<"requests">> := 2, <<"error">> := <<"HTTP status 500 (after 4 attempts)">>}, Failed),
    ga4_collector_port:set_mode(?config(collector, Config), normal),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}, ok} = cycle(facts(30)).

calls_before_start_are_refused(_Config) ->
    ?NIF:stop(),
    ?assertEqual({error, not_started}, ?NIF:report_now(#{})),
    ?assertEqual({error, not_started}, ?NIF:preview(#{})),
    {ok, #{mode := off, client_id := null}} = ?NIF:start(#{options => [no_report]}),
    ?assertEqual({error, not_started}, ?NIF:report_now(#{})).

%% Hostile terms: improper lists, deep nesting, pids, references, funs, floats, integers
%% beyond 64 bits, maps with keys that are not atoms. Each is refused by name; none may
%% make the NIF panic (which rustler raises as nif_panicked, with a backtrace on stderr).

hostile_options_are_refused_by_name(Config) ->
    #{client_id := ClientId} = start(Config),
    [begin
         Configured = no_panic(fun() -> ?NIF:configure(Argument) end),
         Started = no_panic(fun() -> ?NIF:start(Argument) end),
         [refused_as(Expected, Result, Argument) || Result <- [Configured, Started]]
     end || {Argument, Expected} <- hostile_starts()],
    %% None of those refusals touched the running configuration.
    {ok, #{<<"client_id">> := ClientId, <<"destinations">> := [#{<<"result">> := <<"delivered">>}]}, ok} =
        cycle(facts(1)).

hostile_facts_are_left_out_and_named(Config) ->
    start(Config),
    Kept = #{node_count => 2},
    [begin
         Facts = maps:merge(Kept, Bad),
         %% report_now/1: the bad fact is named, and the rest of the report goes.
         {ok, Ref, Dropped} = no_panic(fun() -> ?NIF:report_now(Facts) end),
         named(Dropped, Fact, Words, Bad),
         receive
             {mongoose_system_metrics_report, Ref, {ok, _, ok} = Result} ->
                 {ok, #{<<"events">> := Events}, ok} = whole(Result),
                 ?assertEqual([#{<<"node_number">> => 2}],
                              [P || #{<<"name">> := <<"cluster">>, <<"params">> := P} <- Events])
         after 20000 -> error({no_cycle_result, Fact})
         end,
         %% preview/1 leaves it out the same way.
         {ok, #{<<"events">> := Previewed}} = decoded(no_panic(fun() -> ?NIF:preview(Facts) end)),
         ?assertEqual([#{<<"node_number">> => 2}],
                      [P || #{<<"name">> := <<"cluster">>, <<"params">> := P} <- Previewed])
     end || {Bad, Fact, Words} <- hostile_facts()],
    %% Facts that are no map at all are refused whole, by every call that takes them.
    [begin
         {error, {invalid_fact, facts, Why}} = no_panic(fun() -> ?NIF:Call(NotFacts) end),
         ?assert(msm_test:contains(Why, "facts must be a map, got "))
     end || Call <- [report_now, preview, validate],
            NotFacts <- [[a | b], nest(1000000, x), self(), 1 bsl 70, 1.5]],
    ?assertEqual({error, <<"expected a map">>}, no_panic(fun() -> ?NIF:follow([a | b]) end)),
    %% Odd module options are still only odd options: the module is reported.
    Odd = #{mod_vcard => [{backend, rdbms} | odd], mod_muc => nest(1000000, x),
            mod_ping => #{backend => 1 bsl 70, self() => make_ref()}},
    {ok, #{<<"events">> := Events}, ok} = cycle(#{modules => #{<<"h">> => Odd}}),
    ?assertEqual([<<"mod_muc">>, <<"mod_ping">>, <<"mod_vcard">>],
                 lists:sort([M || #{<<"params">> := #{<<"module">> := M}}
                                      <- msm_test:events_named(<<"module_with_opt">>, Events)])).

%% The same terms in a fresh VM whose stderr is captured: rustler prints a panic's
%% message and backtrace there even when the caller survives it.
hostile_terms_leave_no_panic_on_stderr(Config) ->
    Dir = ?config(dir, Config),
    Paths = [filename:dirname(code:which(M)) || M <- [?NIF, ?MODULE, msm_test]],
    Eval = lists:flatten(io_lib:format("nif_SUITE:hostile_run(~p), halt(0).", [Dir])),
    Args = ["-noshell", "-env", "RUST_BACKTRACE", "1"] ++ lists:append([["-pa", P] || P <- lists:usort(Paths)])
        ++ ["-eval", Eval],
    Port = open_port({spawn_executable, os:find_executable("erl")},
                     [{args, Args}, exit_status, stderr_to_stdout, binary, hide]),
    {0, Output} = collect(Port, <<>>),
    ct:log("~ts", [Output]),
    ?assert(msm_test:contains(Output, "hostile terms: 0 panics")),
    [?assertNot(msm_test:contains(Output, Word), Word) || Word <- ["panicked", "backtrace", "RUST_BACKTRACE"]].

collect(Port, Acc) ->
    receive
        {Port, {data, Data}} -> collect(Port, <<Acc/binary, Data/binary>>);
        {Port, {exit_status, Status}} -> {Status, Acc}
    after 120000 -> error({no_exit, Acc})
    end.

%% Runs in the fresh VM: every hostile call, counting the panics; prints the count.
hostile_run(Dir) ->
    Local = #{options => #{report => local, report_file => filename:join(Dir, "system_metrics_report.json")}},
    {ok, _} = ?NIF:start(Local),
    Calls = [fun() -> ?NIF:configure(Argument) end || {Argument, _} <- hostile_starts()]
        ++ [fun() -> ?NIF:start(Argument) end || {Argument, _} <- hostile_starts()]
        ++ [fun() -> ?NIF:Call(maps:merge(#{node_count => 2}, Bad)) end
            || {Bad, _, _} <- hostile_facts(), Call <- [report_now, preview, validate]]
        ++ [fun() -> ?NIF:Call([a | b]) end || Call <- [report_now, preview, validate, follow]],
    Panics = length([panic || F <- Calls, panicked(F)]),
    io:format("hostile terms: ~b panics in ~b calls~n", [Panics, length(Calls)]),
    ok = ?NIF:stop().

panicked(F) ->
    try F() of _ -> false catch error:nif_panicked -> true end.

no_panic(F) ->
    try F() catch error:nif_panicked:Stack -> ct:fail({nif_panicked, Stack}) end.

%% A term N levels deep.
nest(0, X) -> X;
nest(N, X) -> nest(N - 1, [X]).

%% {StartArgument, {invalid_option, Name, Words} | {invalid_options, Words}}: Words are
%% parts of the message.
hostile_starts() ->
    Options = [{[report | bad], {invalid_options, ["options must be a map or a list", "an improper list"]}},
               {[report, {initial_report, 5} | {periodic_report, 5}], {invalid_options, ["an improper list"]}},
               {#{tracking_id => [a | b]}, {invalid_option, tracking_id, ["tracking_id", "an improper list"]}},
               {[report, {tracking_id, [#{id => "G-1", secret => "hostile-secret-9"} | x]}],
                {invalid_option, tracking_id, ["an improper list"]}},
               {#{tracking_id => #{id => [$G, $- | $1], secret => "hostile-secret-9"}},
                {invalid_option, tracking_id, ["id must be", "an improper list"]}},
               {#{tracking_id => #{id => "G-1", secret => ["hostile-secret-9" | x]}},
                {invalid_option, tracking_id, ["secret"]}},
               {#{tracking_id => nest(1000000, x)}, {invalid_option, tracking_id, ["tracking_id"]}},
               {#{report => [true | false]}, {invalid_option, report, ["report = <improper list>", "boolean"]}},
               {#{initial_report => 1 bsl 70}, {invalid_option, initial_report, ["integer beyond 64 bits"]}},
               {#{initial_report => -(1 bsl 70)}, {invalid_option, initial_report, ["integer beyond 64 bits"]}},
               {#{periodic_report => 3.0e3}, {invalid_option, periodic_report, ["3000.0", "integer"]}},
               {#{periodic_report => self()}, {invalid_option, periodic_report, ["<pid>"]}},
               {#{initial_report => make_ref()}, {invalid_option, initial_report, ["<reference>"]}},
               {#{report_file => fun() -> ok end}, {invalid_option, report_file, ["<fun>"]}},
               {#{report_file => [$/, $t | $x]}, {invalid_option, report_file, ["<improper list>"]}},
               {#{google_analytics_url => [$h, $t | <<"tp://x">>]},
                {invalid_option, google_analytics_url, ["google_analytics_url"]}},
               {#{ca_bundle => [$/ | $x]}, {invalid_option, ca_bundle, ["<improper list>"]}},
               {#{self() => true}, {invalid_options, ["option names must be atoms or binaries, got a pid"]}},
               {#{make_ref() => true}, {invalid_options, ["got a reference"]}},
               {#{1 bsl 70 => true}, {invalid_options, ["got an integer beyond 64 bits"]}},
               {#{{report} => true}, {invalid_options, ["got a tuple of 1 elements"]}},
               {#{1.5 => true}, {invalid_options, ["got a float"]}},
               {#{list_to_atom([26085, 26412]) => true}, {invalid_options, ["got a non-Latin-1 atom"]}},
               {#{report_file => <<1:3>>}, {invalid_option, report_file, ["<bitstring>"]}},
               {nest(1000000, report), {invalid_options, ["{Key, Value}"]}},
               {self(), {invalid_options, ["got a pid"]}}],
    [{#{options => O}, E} || {O, E} <- Options] ++
        [{[options | x], {invalid_options, ["start/1 expects", "an improper list"]}},
         {#{options => #{}, environment => [a | b]}, {invalid_options, ["environment", "an improper list"]}},
         {#{options => #{}, [a | b] => 1}, {invalid_options, ["unknown start/1 key an improper list"]}},
         {#{options => #{}, report_dir => [$/ | $x]}, {invalid_options, ["report_dir"]}},
         {#{options => #{}, built_in_tracking_id => [a | b]}, {invalid_option, default_tracking_id, ["default_tracking_id", "an improper list"]}},
         {#{options => #{}, host_client_id => [$a | $b]}, {invalid_options, ["host_client_id", "<improper list>"]}},
         {#{options => #{}, delivery => [a | b]}, {invalid_options, ["delivery"]}}].

refused_as({invalid_option, Name, Words}, {error, {invalid_option, Name, Message}}, _) ->
    contains_all(Message, Words);
refused_as({invalid_options, Words}, {error, {invalid_options, Message}}, _) ->
    contains_all(Message, Words);
refused_as(Expected, Result, Argument) ->
    ct:fail("~p for ~P, expected ~p", [Result, Argument, 12, Expected]).

contains_all(Message, Words) ->
    ?assert(is_binary(Message)),
    ?assert(byte_size(Message) < 400, Message),
    ?assertNot(msm_test:contains(Message, "hostile-secret-9"), Message),
    [?assert(msm_test:contains(Message, W), {Message, W}) || W <- Words],
    ok.

%% {Facts with one bad fact, the fact named, parts of its message}.
hostile_facts() ->
    [{#{host_types => [<<"a">> | <<"b">>]}, host_types, ["an improper list", "list of host types"]},
     {#{outgoing_pools => [rdbms | http]}, outgoing_pools, ["an improper list"]},
     {#{outgoing_pools => nest(1000000, rdbms)}, outgoing_pools, ["pool types"]},
     {#{listeners => [#{proto => tcp} | x]}, listeners, ["<improper list>"]},
     {#{listeners => [#{proto => tcp, handlers => [a | b]}]}, listeners, ["handlers must be a list of atoms"]},
     {#{uptime_ms => 1.5}, uptime_ms, ["fact uptime_ms = 1.5: expected a non-negative integer"]},
     {#{domain_count => 1 bsl 70}, domain_count, ["integer beyond 64 bits"]},
     {#{components => self()}, components, ["fact components = a pid"]},
     {#{version => make_ref()}, version, ["fact version = a reference"]},
     {#{config_file => fun() -> ok end}, config_file, ["fact config_file = a fun"]},
     {#{version => <<1:3>>}, version, ["fact version = a bitstring"]},
     {#{version => list_to_atom([26085])}, version, ["fact version = a non-Latin-1 atom"]},
     {#{client_id => [$a | $b]}, client_id, ["an improper list"]},
     {#{node => nest(1000000, x)}, node, ["fact node"]},
     {#{stanza_counts => #{"xmppIqSent" => 1}}, stanza_counts, ["stanza types"]},
     {#{stanza_counts => #{xmppIqSent => 1 bsl 64}}, stanza_counts, ["stanza types"]},
     {#{modules => #{<<"h">> => #{"mod_vcard" => #{}}}}, modules, ["#{HostType => #{Module => Opts}}"]},
     {#{modules => #{<<"h">> => [mod_vcard | x]}}, modules, ["#{HostType => #{Module => Opts}}"]},
     {#{modules => [a | b]}, modules, ["an improper list"]},
     {#{cluster => #{members => [#{} | x], unreachable => 0}}, cluster, ["members", "an improper list"]},
     {#{cluster => #{members => [[a | b]], unreachable => 0}}, cluster, ["member 0", "an improper list"]},
     {#{cluster => #{members => [], unreachable => 1.0}}, cluster, ["unreachable"]},
     {#{{weird} => 1}, <<"a tuple of 1 elements">>, ["unknown fact a tuple of 1 elements"]},
     {#{self() => 1}, <<"a pid">>, ["unknown fact a pid"]},
     {#{[a | b] => 1}, <<"an improper list">>, ["unknown fact an improper list"]}].

named(Dropped, Fact, Words, Bad) ->
    case Dropped of
        [{Fact, Why}] ->
            ?assert(byte_size(Why) < 400, Why),
            [?assert(msm_test:contains(Why, W), {Why, W}) || W <- Words],
            ok;
        _ ->
            ct:fail("~p not named alone in ~p for ~P", [Fact, Dropped, Bad, 12])
    end.
