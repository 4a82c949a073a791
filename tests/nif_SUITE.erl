%% @doc The core's typed API (`mongoose_system_metrics_core') called directly with
%% hand-made facts, against the local collector: validation, the asynchronous cycle and its
%% message, the hand-over, chunking, files and failures; and the bare NIFs under hostile
%% terms.
-module(nif_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(CORE, mongoose_system_metrics_core).
-define(NIF, mongoose_system_metrics_nif).
-define(UUID, <<"6c4b2a9e-3f1d-4e8a-9b7c-2d5e8f1a3b6c">>).

all() ->
    [configure_keeps_the_secret_inside_the_core,
     report_now_answers_at_once_and_sends_the_result_later,
     an_elected_identity_is_sent_taken_on_and_handed_over,
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
    msm_test:init_case(Config, "nif").

end_per_testcase(_Case, Config) ->
    msm_test:end_case(Config).

start(Config) ->
    start(Config, #{}).

start(Config, Extra) ->
    Options = msm_test:options(?config(collector, Config), ?config(dir, Config), Extra),
    {ok, Started} = install(#{options => Options, delivery => msm_test:fast_delivery()}),
    Started.

%% A start argument validated and installed.
install(Argument) ->
    case ?CORE:configure_argument(Argument) of
        {ok, Configuration, _} -> ?CORE:start(Configuration);
        Error -> Error
    end.

%% Facts of a node with N host types, each running mod_vcard on rdbms.
facts(HostTypes) ->
    Modules = maps:from_list([{<<"host", (integer_to_binary(I))/binary>>, #{mod_vcard => #{backend => rdbms}}}
                              || I <- lists:seq(1, HostTypes)]),
    #{uptime_ms => 90061000, node_count => 1, version => "6.8.0",
      host_types => maps:keys(Modules), modules => Modules}.

%% A cycle's result, with the whole report its summary stands for.
cycle(Facts) ->
    {ok, Ref, []} = ?CORE:report_now(Facts, undefined),
    receive
        {mongoose_system_metrics_reply, Ref, Result} -> whole(Result)
    after 20000 ->
        error(no_cycle_result)
    end.

%% The message holds the report that last_report/0 then gives, its events as one binary of
%% JSON text.
whole({ok, Report, FileResult, #{identity := _, stanza_totals := #{}}}) ->
    ?assertEqual({ok, Report}, ?CORE:last_report()),
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
    {ok, Configuration, Started} = ?CORE:configure_argument(#{options => Options}),
    ?assertMatch(#{mode := on, notice := false, client_id := null, destinations := [<<"G-OPERATOR1">>]}, Started),
    ?assertNot(msm_test:contains(term_to_binary({Configuration, Started}), "operator-secret-123")),
    ?assertNot(filelib:is_file(filename:join(?config(dir, Config), "system_metrics_client_id"))),
    ?assertEqual({error, not_started}, ?CORE:report_now(#{}, undefined)),
    {ok, #{client_id := ClientId}} = ?CORE:start(Configuration),
    ?assert(msm_test:is_uuid_v4(ClientId)),
    {ok, #{<<"client_id">> := ClientId}, ok} = cycle(#{node_count => 1}).

report_now_answers_at_once_and_sends_the_result_later(Config) ->
    #{mode := on, client_id := ClientId} = start(Config),
    {ok, Ref, []} = ?CORE:report_now(facts(2), undefined),
    ?assert(is_reference(Ref)),
    receive
        {mongoose_system_metrics_reply, Ref, {ok, _, ok, _} = Result} ->
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

%% The identity elected for the cluster goes out with the report, is this node's from
%% then on (kept beside the report file), and is handed over with each node's totals.
an_elected_identity_is_sent_taken_on_and_handed_over(Config) ->
    #{client_id := Own, report_file := File} = start(Config),
    Elected = #{client_id => ?UUID, created_ms => 1},
    {ok, Ref, []} = ?CORE:report_now((facts(1))#{node => <<"a@h">>, stanza_counts => #{xmppIqSent => 5}}, Elected),
    {ok, #{<<"client_id">> := Sent}, ok, HandOver} = ?CORE:await(Ref, 20000),
    ?assertNotEqual(Own, ?UUID),
    ?assertEqual(?UUID, Sent),
    ?assertEqual(#{identity => Elected, stanza_totals => #{<<"a@h">> => #{<<"xmppIqSent">> => 5}}}, HandOver),
    {ok, IdFile} = file:read_file(filename:join(filename:dirname(File), "system_metrics_client_id")),
    ?assertMatch([?UUID | _], binary:split(IdFile, <<"\n">>)),
    %% A node that follows the hand-over sends with it too, and counts from its totals.
    ?CORE:stop(),
    #{client_id := Restarted} = start(Config),
    ?assertEqual(?UUID, Restarted),
    ok = ?CORE:follow(HandOver#{identity := #{client_id => Own, created_ms => 0}}),
    {ok, Ref2, []} = ?CORE:report_now((facts(1))#{node => <<"a@h">>, stanza_counts => #{xmppIqSent => 8}}, undefined),
    {ok, Report, ok, _} = ?CORE:await(Ref2, 20000),
    #{<<"client_id">> := Own, <<"events">> := Events} = msm_test:decoded(Report),
    ?assertEqual([{8, 3}], [{T, I} || #{<<"name">> := <<"xmpp_stanza_count">>,
                                         <<"params">> := #{<<"stanza_type">> := <<"xmppIqSent">>,
                                                           <<"total">> := T, <<"increment">> := I}} <- Events]).

small_facts_are_decoded_inline_and_large_ones_on_a_dirty_scheduler(Config) ->
    start(Config),
    ?assert(?CORE:decodes_inline(facts(30))),
    %% A long text counts by its size, a large deployment by its host types.
    ?assertNot(?CORE:decodes_inline((facts(1))#{version => binary:copy(<<"6">>, 100000)})),
    ?assertNot(?CORE:decodes_inline(facts(1000))),
    ?assertNot(?CORE:decodes_inline(#{cluster => #{members => [facts(300), facts(300)]}})),
    %% Either way, the same report.
    Events = fun(Run) ->
                     {ok, Ref} = ?NIF:Run(report, facts(30), undefined),
                     receive {mongoose_system_metrics_reply, Ref, R} -> {ok, #{<<"events">> := E}, ok, _} = R, E
                     after 20000 -> error(no_cycle) end
             end,
    ?assertEqual(Events(run_inline), Events(run_dirty)).

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
        install(#{options => Options, built_in_tracking_id => BuiltIn, delivery => msm_test:fast_delivery()}),
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
    ?assertEqual({ok, First}, decoded(?CORE:last_report())),
    {ok, Second, ok} = cycle(facts(3)),
    ?assertEqual({ok, Second}, decoded(?CORE:last_report())),
    ?assertNotEqual(First, Second).

preview_sends_and_writes_nothing(Config) ->
    #{report_file := File} = start(Config),
    {ok, Preview} = decoded(?CORE:preview(facts(30))),
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
    {ok, _} = ?CORE:preview(facts(30)),
    %% Nothing may be written or sent, even later: a moment for a stray write to land.
    timer:sleep(200),
    ?assertNot(filelib:is_file(File)),
    ?assertEqual(2, length(ga4_collector_port:requests(?config(collector, Config)))).

a_bad_start_leaves_the_running_configuration(Config) ->
    #{client_id := ClientId} = start(Config),
    {error, {invalid_option, periodic_report, _}} = install(#{options => #{periodic_report => 0}}),
    {ok, #{<<"client_id">> := ClientId, <<"destinations">> := [#{<<"result">> := <<"delivered">>}]}, ok} =
        cycle(facts(1)).

bad_facts_are_left_out_and_named(Config) ->
    start(Config),
    %% One odd fact never costs the report: it is left out, named, and the rest is sent.
    {ok, Ref, Dropped} = ?CORE:report_now(#{uptime_ms => -1, node_count => 2, <<"no_such_fact_xyz">> => 1}, undefined),
    ?assertMatch([{uptime_ms, <<"fact uptime_ms = -1: expected a non-negative integer">>},
                  {<<"no_such_fact_xyz">>, _}], lists:sort(Dropped)),
    receive
        {mongoose_system_metrics_reply, Ref, {ok, _, ok, _} = Result} ->
            {ok, #{<<"events">> := Events}, ok} = whole(Result),
            ?assertEqual([#{<<"node_number">> => 2}], [P || #{<<"name">> := <<"cluster">>, <<"params">> := P} <- Events])
    after 20000 -> error(no_cycle_result)
    end,
    %% Facts that are not a map at all are refused.
    {error, {invalid_fact, facts, _}} = ?CORE:report_now(not_a_map, undefined),
    {error, {invalid_fact, facts, _}} = ?CORE:preview([]).

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
    ?CORE:stop(),
    ?assertEqual({error, not_started}, ?CORE:report_now(#{}, undefined)),
    ?assertEqual({error, not_started}, ?CORE:preview(#{})),
    ?assertEqual({error, not_started}, ?CORE:validate(#{}, undefined)),
    ?assertEqual({error, not_started}, ?CORE:follow(#{})),
    {ok, #{mode := off, client_id := null}} = install(#{options => [no_report]}),
    ?assertEqual({error, not_started}, ?CORE:report_now(#{}, undefined)).

%% Hostile terms: improper lists, deep nesting, pids, references, funs, floats, integers
%% beyond 64 bits, maps with keys that are not atoms. Each is refused by name; none may
%% make the NIF panic (which rustler raises as nif_panicked, with a backtrace on stderr).

hostile_options_are_refused_by_name(Config) ->
    #{client_id := ClientId} = start(Config),
    [begin
         refused_as(Expected, no_panic(fun() -> ?CORE:configure_argument(Argument) end), Argument),
         %% start/1 takes only what configure/1 made.
         ?assertError(badarg, no_panic(fun() -> ?NIF:start(Argument) end))
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
         {ok, Ref, Dropped} = no_panic(fun() -> ?CORE:report_now(Facts, undefined) end),
         named(Dropped, Fact, Words, Bad),
         receive
             {mongoose_system_metrics_reply, Ref, {ok, _, ok, _} = Result} ->
                 {ok, #{<<"events">> := Events}, ok} = whole(Result),
                 ?assertEqual([#{<<"node_number">> => 2}],
                              [P || #{<<"name">> := <<"cluster">>, <<"params">> := P} <- Events])
         after 20000 -> error({no_cycle_result, Fact})
         end,
         %% preview/1 leaves it out the same way.
         {ok, #{<<"events">> := Previewed}} = decoded(no_panic(fun() -> ?CORE:preview(Facts) end)),
         ?assertEqual([#{<<"node_number">> => 2}],
                      [P || #{<<"name">> := <<"cluster">>, <<"params">> := P} <- Previewed])
     end || {Bad, Fact, Words} <- hostile_facts()],
    %% Facts that are no map at all are refused whole, by every call that takes them.
    [begin
         {error, {invalid_fact, facts, Why}} = no_panic(fun() -> ?NIF:run_dirty(Job, NotFacts, undefined) end),
         ?assert(msm_test:contains(Why, "facts must be a map, got "))
     end || Job <- [report, preview, validate],
            NotFacts <- [[a | b], nest(1000000, x), self(), 1 bsl 70, 1.5]],
    %% So are identities and hand-overs that do not hold.
    [begin
         {error, {invalid_hand_over, Why}} = no_panic(fun() -> ?CORE:report_now(#{}, Identity) end),
         ?assert(msm_test:contains(Why, Words), {Identity, Why})
     end || {Identity, Words} <- hostile_identities()],
    [begin
         {error, {invalid_hand_over, Why}} = no_panic(fun() -> ?CORE:follow(HandOver) end),
         ?assert(msm_test:contains(Why, Words), {HandOver, Why})
     end || {HandOver, Words} <- hostile_hand_overs()],
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
    Paths = [filename:dirname(code:which(M)) || M <- [?CORE, ?MODULE, msm_test]],
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
    {ok, _} = install(Local),
    Jobs = [report, preview, validate, [a | b], self()],
    Calls = [fun() -> ?NIF:configure(Argument) end || {Argument, _} <- hostile_starts()]
        ++ [fun() -> ?NIF:start(Argument) end || {Argument, _} <- hostile_starts()]
        ++ [fun() -> ?NIF:Run(Job, maps:merge(#{node_count => 2}, Bad), undefined) end
            || {Bad, _, _} <- hostile_facts(), Job <- Jobs, Run <- [run_inline, run_dirty]]
        ++ [fun() -> ?NIF:run_dirty(Job, #{}, Identity) end || {Identity, _} <- hostile_identities(), Job <- Jobs]
        ++ [fun() -> ?NIF:follow(HandOver) end || {HandOver, _} <- hostile_hand_overs()]
        ++ [fun() -> ?NIF:run_inline(Job, [a | b], [a | b]) end || Job <- Jobs],
    Panics = length([panic || F <- Calls, panicked(F)]),
    io:format("hostile terms: ~b panics in ~b calls~n", [Panics, length(Calls)]),
    ok = ?NIF:stop().

%% badarg is how a NIF refuses a term it does not take at all (a job, a configuration).
panicked(F) ->
    try F() of _ -> false catch error:nif_panicked -> true; error:badarg -> false end.

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

%% {Identity elected for a cycle, part of its refusal}.
hostile_identities() ->
    [{[a | b], "undefined or a map"}, {nest(1000000, x), "undefined or a map"}, {self(), "undefined or a map"},
     {#{}, "client_id is missing"},
     {#{client_id => [$a | $b], created_ms => 1}, "client_id must be a string"},
     {#{client_id => <<"not-a-uuid">>, created_ms => 1}, "UUID v4"},
     {#{client_id => ?UUID, created_ms => -1}, "created_ms"},
     {#{client_id => ?UUID, created_ms => 1 bsl 70}, "created_ms"},
     {#{client_id => ?UUID}, "created_ms"}].

%% {Hand-over from another member, part of its refusal}.
hostile_hand_overs() ->
    [{[a | b], "expected a map"}, {nest(1000000, x), "expected a map"},
     {#{stanza_totals => [a | b]}, "stanza_totals must be a map"},
     {#{stanza_totals => #{<<"a@h">> => #{<<"xmppIqSent">> => -1}}}, "stanza types to counts"},
     {#{stanza_totals => #{<<"a@h">> => #{self() => 1}}}, "stanza types to counts"},
     {#{stanza_totals => #{self() => #{}}}, "node names"},
     {#{stanza_totals => #{<<"a@h">> => nest(1000000, x)}}, "must be a map"}
     | [{#{identity => I}, W} || {I, W} <- hostile_identities(), I =/= #{}]].

named(Dropped, Fact, Words, Bad) ->
    case Dropped of
        [{Fact, Why}] ->
            ?assert(byte_size(Why) < 400, Why),
            [?assert(msm_test:contains(Why, W), {Why, W}) || W <- Words],
            ok;
        _ ->
            ct:fail("~p not named alone in ~p for ~P", [Fact, Dropped, Bad, 12])
    end.
