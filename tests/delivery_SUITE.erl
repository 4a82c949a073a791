%% @doc Delivery against a local collector that misbehaves on request: every fault ends
%% in the right outcome while the service stays up and the schedulers stay free; secrets
%% appear nowhere; validation, TLS with a private CA, HTTPS_PROXY/NO_PROXY and the EU
%% endpoint. (Memory over 1,000 failing cycles: reliability_SUITE.)
-module(delivery_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(SERVICE, service_mongoose_system_metrics).
-define(OPERATOR_SECRET, "operator-secret-123").
-define(BUILT_IN_SECRET, "builtin-secret-456").

all() ->
    [{group, faults}, {group, operations}, {group, tls_and_proxies}].

groups() ->
    [{faults, [], [a_lasting_500_is_retried_then_reported,
                   a_503_then_200_is_delivered_on_the_retry,
                   a_429_with_retry_after_is_waited_for,
                   a_400_is_not_retried,
                   a_collector_that_hangs_is_given_up_in_time,
                   a_collector_that_dribbles_is_given_up_in_time,
                   a_reset_connection_is_retried_then_reported,
                   garbage_is_retried_then_reported,
                   an_absent_collector_is_reported]},
     {operations, [], [secrets_appear_nowhere,
                       validate_returns_googles_messages,
                       universal_analytics_ids_are_sent_to_batch_with_a_notice]},
     {tls_and_proxies, [], [certificates_are_verified_and_a_ca_bundle_is_trusted,
                            a_bad_ca_bundle_is_refused,
                            https_proxy_is_honoured_with_the_eu_endpoint,
                            no_proxy_is_honoured]}].

init_per_suite(Config) ->
    msm_test:test_environment(),
    %% Quick retries and short timeouts, so each fault plays out in a second or two.
    application:set_env(mongoose_system_metrics, delivery,
                        #{base_delay_ms => 50, max_delay_ms => 200, request_timeout_ms => 500,
                          connect_timeout_ms => 500, deadline_ms => 3000}),
    Config.

end_per_suite(_Config) ->
    msm_test:default_retries().

init_per_testcase(_Case, Config) ->
    %% No normal scheduler may be held by anything of ours for long.
    erlang:system_monitor(self(), [{long_schedule, 100}]),
    msm_test:init_case(Config, "delivery").

end_per_testcase(_Case, Config) ->
    erlang:system_monitor(undefined),
    logger:set_primary_config(level, notice),
    msm_test:end_case(Config).

options(Config, Extra) ->
    msm_test:options(?config(collector, Config), ?config(dir, Config), Extra).

long_schedules() ->
    receive
        {monitor, _, long_schedule, Info} -> [Info | long_schedules()]
    after 0 -> []
    end.

%% Starts the service, sets the fault, reports once: the one destination's outcome and
%% how long the cycle took. The service must still run and the schedulers be free.
fault(Config, Mode) ->
    Collector = ?config(collector, Config),
    {ok, Pid} = ?SERVICE:start(options(Config, #{})),
    ga4_collector_port:set_mode(Collector, Mode),
    Started = erlang:monotonic_time(millisecond),
    {ok, #{<<"destinations">> := [Outcome]}} = ?SERVICE:report_now(),
    Took = erlang:monotonic_time(millisecond) - Started,
    ?assertEqual(Pid, whereis(?SERVICE)),
    ?assertEqual([], long_schedules()),
    ga4_collector_port:set_mode(Collector, normal),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} = ?SERVICE:report_now(),
    {Outcome, Took}.

a_lasting_500_is_retried_then_reported(Config) ->
    {Outcome, _} = fault(Config, {status, 500}),
    ?assertMatch(#{<<"result">> := <<"failed">>, <<"status">> := 500, <<"attempts">> := 4,
                   <<"error">> := <<"HTTP status 500 (after 4 attempts)">>}, Outcome).

a_503_then_200_is_delivered_on_the_retry(Config) ->
    {Outcome, _} = fault(Config, "sequence 503"),
    ?assertMatch(#{<<"result">> := <<"delivered">>, <<"attempts">> := 2, <<"status">> := 204}, Outcome).

a_429_with_retry_after_is_waited_for(Config) ->
    {Outcome, Took} = fault(Config, "sequence 429:1"),
    ?assertMatch(#{<<"result">> := <<"delivered">>, <<"attempts">> := 2}, Outcome),
    ?assert(Took >= 1000, Took).

a_400_is_not_retried(Config) ->
    {Outcome, _} = fault(Config, {status, 400}),
    ?assertMatch(#{<<"result">> := <<"failed">>, <<"attempts">> := 1, <<"error">> := <<"HTTP status 400">>}, Outcome).

a_collector_that_hangs_is_given_up_in_time(Config) ->
    {Outcome, Took} = fault(Config, "hang"),
    ?assertMatch(#{<<"result">> := <<"failed">>, <<"error">> := <<"timed out", _/binary>>}, Outcome),
    ?assert(Took < 4000, Took).

a_collector_that_dribbles_is_given_up_in_time(Config) ->
    {Outcome, Took} = fault(Config, "dribble 200"),
    ?assertMatch(#{<<"result">> := <<"failed">>, <<"error">> := <<"timed out", _/binary>>}, Outcome),
    ?assert(Took < 4000, Took).

a_reset_connection_is_retried_then_reported(Config) ->
    {Outcome, _} = fault(Config, "reset"),
    ?assertMatch(#{<<"result">> := <<"failed">>, <<"attempts">> := 4, <<"error">> := <<"request failed", _/binary>>},
                 Outcome).

garbage_is_retried_then_reported(Config) ->
    {Outcome, _} = fault(Config, "garbage"),
    ?assertMatch(#{<<"result">> := <<"failed">>, <<"attempts">> := 4}, Outcome).

an_absent_collector_is_reported(Config) ->
    {ok, Listen} = gen_tcp:listen(0, []),
    {ok, Port} = inet:port(Listen),
    ok = gen_tcp:close(Listen),
    {ok, Pid} = ?SERVICE:start(options(Config, #{google_analytics_url => "http://127.0.0.1:" ++ integer_to_list(Port)})),
    {ok, #{<<"destinations">> := [Outcome]}} = ?SERVICE:report_now(),
    ?assertMatch(#{<<"result">> := <<"failed">>, <<"attempts">> := 4,
                   <<"error">> := <<"connection failed: connection refused (after 4 attempts)">>}, Outcome),
    ?assertEqual(Pid, whereis(?SERVICE)),
    ?assertEqual([], long_schedules()).

secrets_appear_nowhere(Config) ->
    msm_test:set_env(default_tracking_id, #{id => "G-BUILTIN1", secret => ?BUILT_IN_SECRET}),
    logger:set_primary_config(level, all),
    msm_log_capture:start(),
    Collector = ?config(collector, Config),
    Dir = ?config(dir, Config),
    %% A refused start, a failing delivery, a validation, a crash and a restart.
    Refused = [?SERVICE:start(options(Config, #{periodic_report => 0})),
               ?SERVICE:start(options(Config, #{tracking_id => #{id => "G-X1", secret => ?OPERATOR_SECRET, x => 1}}))],
    {ok, Pid} = ?SERVICE:start(options(Config, #{})),
    ga4_collector_port:set_mode(Collector, {status, 503}),
    {ok, Failed} = ?SERVICE:report_now(),
    ga4_collector_port:set_mode(Collector, normal),
    {ok, Validated} = ?SERVICE:validate(),
    State = [sys:get_state(Pid), sys:get_status(Pid), supervisor:which_children(mongoose_system_metrics_service_sup)],
    ok = sys:terminate(Pid, deliberate_test_crash),
    _ = msm_test:wait_for_service(Pid),
    {ok, Sent} = ?SERVICE:report_now(),
    {ok, Preview} = ?SERVICE:preview(),
    Logged = [format(Event) || Event <- msm_log_capture:collected()],
    {ok, Files} = file:list_dir(Dir),
    FileBytes = [element(2, file:read_file(filename:join(Dir, F))) || F <- Files],
    Everything = term_to_binary([Refused, Failed, Validated, State, Sent, Preview, Logged, FileBytes,
                                 ?SERVICE:last_report()]),
    ?assertNotEqual([], Logged),
    [?assertNot(msm_test:contains(Everything, Secret), Secret) || Secret <- [?OPERATOR_SECRET, ?BUILT_IN_SECRET]],
    %% The secrets did travel where they must: in the request URLs, to the collector.
    Seen = [S || #{<<"api_secret">> := S} <- ga4_collector_port:requests(Collector)],
    ?assert(lists:member(list_to_binary(?BUILT_IN_SECRET), Seen)).

%% The log line as a handler would write it.
format({Level, Report}) when is_map(Report) ->
    format({Level, {report, Report}});
format({Level, Msg}) ->
    Event = #{level => Level, msg => Msg, meta => #{time => logger:timestamp()}},
    iolist_to_binary(logger_formatter:format(Event, #{single_line => true, depth => unlimited})).

validate_returns_googles_messages(Config) ->
    Collector = ?config(collector, Config),
    {ok, _} = ?SERVICE:start(options(Config, #{})),
    ?assertEqual({ok, [#{<<"id">> => <<"G-OPERATOR1">>, <<"messages">> => []}]}, ?SERVICE:validate()),
    ga4_collector_port:set_mode(Collector, "validation_message Event at index: [0] has a name Google dislikes."),
    {ok, [#{<<"id">> := <<"G-OPERATOR1">>, <<"messages">> := [Message]}]} = ?SERVICE:validate(),
    ?assertMatch(#{<<"description">> := <<"Event at index: [0] has a name Google dislikes.">>,
                   <<"validationCode">> := <<"VALUE_INVALID">>, <<"fieldPath">> := _}, Message),
    Paths = lists:usort([P || #{<<"path">> := P} <- ga4_collector_port:requests(Collector)]),
    ?assertEqual([<<"/debug/mp/collect">>], Paths, "validation sends nothing to reports").

universal_analytics_ids_are_sent_to_batch_with_a_notice(Config) ->
    msm_log_capture:start(),
    {ok, _} = ?SERVICE:start(options(Config, #{tracking_id => "UA-151671255-3"})),
    {ok, #{<<"destinations">> := [Outcome]}} = ?SERVICE:report_now(),
    ?assertMatch(#{<<"id">> := <<"UA-151671255-3">>, <<"protocol">> := <<"universal_analytics">>,
                   <<"result">> := <<"delivered">>}, Outcome),
    [#{<<"body">> := Body, <<"problems">> := []}] =
        ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/batch">>, 1),
    ?assert(msm_test:contains(Body, "v=1&tid=UA-151671255-3&cid=")),
    ?assert(msm_test:contains(Body, "&t=event&ec=cluster&ea=number_of_nodes&el=1")),
    Notices = [T || {warning, #{what := system_metrics_option_warning, text := T}} <- msm_log_capture:collected(),
                    msm_test:contains(T, "July 2023")],
    ?assertMatch([_], Notices).

certificates_are_verified_and_a_ca_bundle_is_trusted(Config) ->
    TlsDir = msm_test:fresh_dir(Config, "tls"),
    Tls = ga4_collector_port:start_tls(TlsDir),
    try
        Options = options(Config, #{google_analytics_url => ga4_collector_port:url(Tls)}),
        {ok, _} = ?SERVICE:start(Options),
        {ok, #{<<"destinations">> := [Untrusted]}} = ?SERVICE:report_now(),
        ?assertMatch(#{<<"result">> := <<"failed">>, <<"error">> := <<"connection failed: TLS certificate rejected", _/binary>>},
                     Untrusted),
        ?assertEqual([], ga4_collector_port:requests(Tls)),
        ok = ?SERVICE:stop(),
        {ok, _} = ?SERVICE:start(Options#{ca_bundle => filename:join(TlsDir, "ca.pem")}),
        {ok, #{<<"destinations">> := [Trusted]}} = ?SERVICE:report_now(),
        ?assertMatch(#{<<"result">> := <<"delivered">>, <<"status">> := 204}, Trusted),
        ?assertMatch([_], ga4_collector_port:requests(Tls))
    after
        ga4_collector_port:stop(Tls)
    end.

a_bad_ca_bundle_is_refused(Config) ->
    Missing = filename:join(?config(dir, Config), "missing.pem"),
    {error, {invalid_option, ca_bundle, Message}} = ?SERVICE:start(options(Config, #{ca_bundle => Missing})),
    ?assert(msm_test:contains(Message, "cannot read it")),
    NotPem = filename:join(?config(dir, Config), "not.pem"),
    ok = file:write_file(NotPem, <<"hello">>),
    {error, {invalid_option, ca_bundle, Message2}} = ?SERVICE:start(options(Config, #{ca_bundle => NotPem})),
    ?assert(msm_test:contains(Message2, "no PEM certificate")).

%% A fake proxy: records the first line of each connection and refuses the tunnel.
start_proxy() ->
    Self = self(),
    {ok, Listen} = gen_tcp:listen(0, [binary, {active, false}, {reuseaddr, true}]),
    {ok, Port} = inet:port(Listen),
    Pid = spawn(fun() -> proxy_loop(Listen, Self) end),
    ok = gen_tcp:controlling_process(Listen, Pid),
    {Pid, Port}.

proxy_loop(Listen, Owner) ->
    case gen_tcp:accept(Listen) of
        {ok, Socket} ->
            case gen_tcp:recv(Socket, 0, 5000) of
                {ok, Data} ->
                    [Line | _] = binary:split(Data, <<"\r\n">>),
                    Owner ! {proxy_saw, Line},
                    gen_tcp:send(Socket, <<"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n">>);
                _ -> ok
            end,
            gen_tcp:close(Socket),
            proxy_loop(Listen, Owner);
        {error, _} ->
            ok
    end.

proxied_lines() ->
    receive {proxy_saw, Line} -> [Line | proxied_lines()] after 0 -> [] end.

start_peer(Env) ->
    Ebin = filename:dirname(code:which(?SERVICE)),
    {Peer, _} = msm_test:start_peer(#{connection => standard_io, args => ["-pa", Ebin | msm_test:peer_args()], env => Env}),
    Peer.

https_proxy_is_honoured_with_the_eu_endpoint(Config) ->
    {Proxy, ProxyPort} = start_proxy(),
    Peer = start_peer([{"HTTPS_PROXY", "http://127.0.0.1:" ++ integer_to_list(ProxyPort)}, {"NO_PROXY", ""}]),
    try
        Options = options(Config, #{google_analytics_url => "https://region1.google-analytics.com"}),
        {ok, _} = peer:call(Peer, ?SERVICE, start, [Options]),
        {ok, #{<<"destinations">> := [Outcome]}} = peer:call(Peer, ?SERVICE, report_now, [], 30000),
        ?assertMatch(#{<<"result">> := <<"failed">>}, Outcome),
        %% The request went to the EU host, through the proxy; nothing left this machine.
        ?assertMatch([<<"CONNECT region1.google-analytics.com:443 HTTP/1.1">> | _], proxied_lines())
    after
        exit(Proxy, kill)
    end.

no_proxy_is_honoured(Config) ->
    case own_address() of
        none ->
            {skip, "this machine has no address but loopback"};
        Address ->
            {Proxy, ProxyPort} = start_proxy(),
            Text = inet:ntoa(Address),
            {ok, Direct} = gen_tcp:listen(0, [binary, {ip, Address}, {active, false}]),
            {ok, DirectPort} = inet:port(Direct),
            Peer = start_peer([{"HTTPS_PROXY", "http://127.0.0.1:" ++ integer_to_list(ProxyPort)},
                               {"NO_PROXY", Text}]),
            try
                Url = "https://" ++ Text ++ ":" ++ integer_to_list(DirectPort),
                {ok, _} = peer:call(Peer, ?SERVICE, start, [options(Config, #{google_analytics_url => Url})]),
                Caller = spawn(fun() -> peer:call(Peer, ?SERVICE, report_now, [], 30000) end),
                %% The service connects straight to the address NO_PROXY names.
                {ok, Socket} = gen_tcp:accept(Direct, 10000),
                gen_tcp:close(Socket),
                ?assertEqual([], proxied_lines()),
                exit(Caller, kill)
            after
                gen_tcp:close(Direct),
                exit(Proxy, kill)
            end
    end.

own_address() ->
    {ok, Interfaces} = inet:getifaddrs(),
    Addresses = [A || {_, Props} <- Interfaces, {addr, {_, _, _, _} = A} <- Props, element(1, A) =/= 127],
    case Addresses of
        [A | _] -> A;
        [] -> none
    end.
