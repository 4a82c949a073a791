%% @doc The service inside a MongooseIM-shaped node: a peer node where small fixture
%% modules (mongooseim_SUITE_data/*.fixture: Erlang sources that rebar3 must not compile
%% into this node) stand in for MongooseIM 6.x's own (mongoose_config,
%% gen_mod, the domain core, the component registry, cets_status, the Prometheus and
%% exometer counters), with the same function names and return shapes. Each case sets
%% a parsed configuration, lets the real service report to the local collector, and
%% checks the events of the privacy policy.
-module(mongooseim_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(SERVICE, service_mongoose_system_metrics).

all() ->
    [mongooseims_own_module_list_is_reported_with_backends,
     a_module_is_reported_only_for_host_types_that_enable_it,
     custom_modules_are_counted_never_named,
     host_and_domain_counts_with_dynamic_domains,
     cluster_event_from_cets,
     cluster_event_from_mnesia,
     listeners_give_apis_transports_and_tls_options,
     outgoing_pools_are_reported_one_by_one,
     stanza_counts_from_prometheus,
     stanza_counts_from_exometer,
     stanza_counts_of_6_3_from_exometer,
     stanza_counts_of_6_3_from_prometheus,
     stanza_counts_before_6_3,
     unknown_stanza_counters_are_left_out_and_logged_once,
     no_instrumentation_no_stanza_counts,
     a_failing_mongooseim_call_leaves_out_only_its_fact,
     broken_modules_and_listeners_are_left_out_not_guessed,
     odd_values_in_module_options_never_lose_the_report,
     the_client_id_is_mongooseims_cluster_id,
     started_as_mongooseim_starts_it,
     mongooseims_global_google_analytics_url_is_honoured,
     verify_if_configured_reads_the_services_section,
     no_private_value_leaves_the_node].

init_per_suite(Config) ->
    Fixtures = msm_test:compile_fixtures(Config, "fixtures"),
    ok = modules_with_metrics(Fixtures),
    Paths = [filename:dirname(code:which(M)) || M <- [?SERVICE, ga4_collector_port]],
    %% Not linked: init_per_suite runs in a process of its own that ends.
    {ok, Peer, _} = peer:start(#{connection => standard_io, args => msm_test:peer_args() ++ ["-pa", Fixtures | Paths]}),
    ok = call(Peer, application, load, [{application, mongooseim,
                                         [{description, "MongooseIM stand-in"}, {vsn, "6.8.0-42-gabcdef1"},
                                          {modules, []}, {registered, []}, {applications, [kernel, stdlib]}]}]),
    ok = call(Peer, mim_fixture, capture_logs, []),
    %% Loaded, as MongooseIM's modules are once enabled.
    [{module, M} = call(Peer, code, ensure_loaded, [M])
     || M <- [mod_event_pusher | [list_to_atom(filename:basename(F, ".beam"))
                                  || F <- filelib:wildcard(filename:join(Fixtures, "mod_*.beam"))]]],
    [{peer, Peer} | Config].

%% Stand-ins for the MongooseIM modules whose config_metrics/1 reports options, each with
%% the keys its source gives (MongooseIM 6.8.0, `config_metrics/1' in src/**/mod_*.erl:
%% `mongoose_module_metrics:opts_for_module(HostType, ?MODULE, Keys)'). mod_event_pusher,
%% which reports its backends, is a fixture of its own; other modules report nothing.
modules_with_metrics(Dir) ->
    Keys = [{mod_auth_token, [backend]}, {mod_event_pusher_push, [backend]}, {mod_http_upload, [backend]},
            {mod_inbox, [backend]}, {mod_last, [backend]}, {mod_mam, [backend]},
            {mod_muc, [backend, online_backend]}, {mod_muc_light, [backend]}, {mod_offline, [backend]},
            {mod_privacy, [backend]}, {mod_private, [backend]}, {mod_pubsub_old, [backend]},
            {mod_push_service_mongoosepush, [api_version]}, {mod_roster, [backend]}, {mod_vcard, [backend]}],
    lists:foreach(
      fun({Module, Reported}) ->
              Source = io_lib:format("-module(~p).~n-export([config_metrics/1]).~n"
                                     "config_metrics(HostType) -> mongoose_module_metrics:opts_for_module(HostType, ~p, ~p).~n",
                                     [Module, Module, Reported]),
              {ok, Tokens, _} = erl_scan:string(lists:flatten(Source)),
              Forms = [begin {ok, F} = erl_parse:parse_form(T), F end || T <- split_forms(Tokens, [])],
              {ok, Module, Beam} = compile:forms(Forms, [return_errors]),
              ok = file:write_file(filename:join(Dir, atom_to_list(Module) ++ ".beam"), Beam)
      end, Keys).

split_forms([], []) -> [];
split_forms([{dot, _} = Dot | Rest], Acc) -> [lists:reverse([Dot | Acc]) | split_forms(Rest, [])];
split_forms([Token | Rest], Acc) -> split_forms(Rest, [Token | Acc]).

end_per_suite(Config) ->
    peer:stop(?config(peer, Config)).

init_per_testcase(_Case, Config) ->
    Peer = ?config(peer, Config),
    ok = call(Peer, ?SERVICE, stop, []),
    ok = call(Peer, mim_fixture, reset, []),
    ok = call(Peer, mim_fixture, capture_logs, []),
    msm_test:init_case(Config, "mim").

end_per_testcase(_Case, Config) ->
    ok = call(?config(peer, Config), ?SERVICE, stop, []),
    msm_test:end_case(Config).

call(Peer, M, F, A) ->
    peer:call(Peer, M, F, A, 60000).

%% A parsed MongooseIM 6.x configuration, as mongoose_config holds it.
mim_config(Extra) ->
    maps:merge(#{hosts => [<<"localhost">>],
                 host_types => [],
                 {modules, <<"localhost">>} => #{},
                 listen => [],
                 outgoing_pools => [],
                 instrumentation => #{probe_interval => 15},
                 internal_databases => #{cets => #{backend => file, cluster_name => mongooseim}},
                 services => #{?SERVICE => #{}}},
               Extra).

%% Sets the fixtures and the configuration, runs one real cycle and returns the report.
report(Config, MimConfig) ->
    report(Config, MimConfig, []).

report(Config, MimConfig, Fixtures) ->
    Peer = ?config(peer, Config),
    [ok = call(Peer, mim_fixture, set, [K, V]) || {K, V} <- Fixtures],
    ok = call(Peer, mongoose_config, set_opts, [MimConfig]),
    case whereis_service(Peer) of
        undefined -> {ok, _} = call(Peer, ?SERVICE, start, [options(Config)]);
        _ -> ok
    end,
    {ok, Report} = call(Peer, ?SERVICE, report_now, []),
    msm_test:decoded(Report).

whereis_service(Peer) ->
    call(Peer, erlang, whereis, [?SERVICE]).

options(Config) ->
    msm_test:options(?config(collector, Config), ?config(dir, Config), #{}).

events(Name, #{<<"events">> := Events}) ->
    [Params || #{<<"name">> := N, <<"params">> := Params} <- Events, N =:= Name].

module_events(Report) ->
    lists:sort(events(<<"module_with_opt">>, Report)).

mod(Module) -> #{<<"module">> => atom_to_binary(Module)}.
mod(Module, Pairs) -> maps:merge(mod(Module), maps:from_list([{atom_to_binary(K), V} || {K, V} <- Pairs])).

%% MongooseIM's own test suite enables these (service_mongoose_system_metrics_SUITE,
%% module_opts_are_reported and rdbms_module_opts_are_reported).
reported_modules() ->
    #{mod_vcard => #{backend => rdbms, host => {prefix, <<"vjud.">>}, ldap => #{}},
      mod_mam => #{backend => rdbms, pm => #{}, muc => #{host => {prefix, <<"muc.">>}}, cache_users => true},
      mod_mam_pm => #{backend => rdbms},
      mod_mam_rdbms_arch => #{},
      mod_muc => #{backend => rdbms, online_backend => cets, host => {prefix, <<"muc.">>}, access => muc},
      mod_event_pusher => #{push => #{backend => rdbms, wpool => #{workers => 20}, plugin_module => mod_event_pusher_push_plugin_defaults},
                            http => #{handlers => [#{host => "http.example.com", path => "/notify", pool_name => http_pool}]},
                            rabbit => #{presence_exchange => #{name => <<"presence">>, type => <<"topic">>}}},
      mod_event_pusher_push => #{backend => rdbms, wpool => #{workers => 20}},
      mod_event_pusher_http => #{handlers => []},
      mod_event_pusher_rabbit => #{},
      mod_http_upload => #{backend => s3, s3 => #{bucket_url => "https://bucket.s3.example.com", access_key_id => "AKIAEXAMPLE",
                                                secret_access_key => "s3-secret-key", region => "eu-west-1"}},
      mod_push_service_mongoosepush => #{api_version => <<"v3">>, pool_name => mongoose_push_http, max_http_connections => 100},
      mod_last => #{backend => rdbms}, mod_offline => #{backend => rdbms}, mod_privacy => #{backend => rdbms},
      mod_private => #{backend => rdbms}, mod_pubsub_old => #{backend => rdbms}, mod_roster => #{backend => rdbms},
      mod_muc_light => #{backend => rdbms}, mod_auth_token => #{backend => rdbms}, mod_inbox => #{backend => rdbms_async}}.

mongooseims_own_module_list_is_reported_with_backends(Config) ->
    Report = report(Config, mim_config(#{{modules, <<"localhost">>} => reported_modules()})),
    Expected = lists:sort(
                 [mod(mod_vcard, [{backend, <<"rdbms">>}]),
                  mod(mod_mam, [{backend, <<"rdbms">>}]),
                  %% mod_mam_pm has no config_metrics/1: named, without its backend.
                  mod(mod_mam_pm),
                  mod(mod_mam_rdbms_arch),
                  mod(mod_muc, [{backend, <<"rdbms">>}, {online_backend, <<"cets">>}]),
                  mod(mod_event_pusher, [{backend, <<"http">>}]),
                  mod(mod_event_pusher, [{backend, <<"push">>}]),
                  mod(mod_event_pusher, [{backend, <<"rabbit">>}]),
                  mod(mod_event_pusher_push, [{backend, <<"rdbms">>}]),
                  mod(mod_event_pusher_http),
                  mod(mod_event_pusher_rabbit),
                  mod(mod_http_upload, [{backend, <<"s3">>}]),
                  mod(mod_push_service_mongoosepush, [{api_version, <<"v3">>}]),
                  mod(mod_last, [{backend, <<"rdbms">>}]), mod(mod_offline, [{backend, <<"rdbms">>}]),
                  mod(mod_privacy, [{backend, <<"rdbms">>}]), mod(mod_private, [{backend, <<"rdbms">>}]),
                  mod(mod_pubsub_old, [{backend, <<"rdbms">>}]), mod(mod_roster, [{backend, <<"rdbms">>}]),
                  mod(mod_muc_light, [{backend, <<"rdbms">>}]), mod(mod_auth_token, [{backend, <<"rdbms">>}]),
                  mod(mod_inbox, [{backend, <<"rdbms_async">>}])]),
    ?assertEqual(Expected, module_events(Report)),
    ?assertEqual([#{<<"value">> => 0}], events(<<"custom_module_count">>, Report)),
    [#{<<"body">> := Body} | _] = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    [?assertNot(msm_test:contains(Body, Private)) || Private <- ["s3-secret-key", "AKIAEXAMPLE", "vjud", "http.example.com"]].

a_module_is_reported_only_for_host_types_that_enable_it(Config) ->
    MimConfig = mim_config(#{hosts => [<<"localhost">>, <<"anonymous.localhost">>],
                             host_types => [<<"type_a">>],
                             {modules, <<"localhost">>} => #{mod_vcard => #{backend => mnesia}, mod_ping => #{}},
                             {modules, <<"anonymous.localhost">>} => #{mod_ping => #{}},
                             {modules, <<"type_a">>} => #{mod_vcard => #{backend => rdbms}, mod_ping => #{}}}),
    Report = report(Config, MimConfig),
    ?assertEqual(lists:sort([mod(mod_ping), mod(mod_ping), mod(mod_ping),
                             mod(mod_vcard, [{backend, <<"mnesia">>}]), mod(mod_vcard, [{backend, <<"rdbms">>}])]),
                 module_events(Report)),
    %% mod_ping does not declare MongooseIM's metrics behaviour, yet it is open source.
    ?assertEqual([#{<<"value">> => 0}], events(<<"custom_module_count">>, Report)).

custom_modules_are_counted_never_named(Config) ->
    MimConfig = mim_config(#{hosts => [<<"localhost">>], host_types => [<<"type_a">>],
                             {modules, <<"localhost">>} => #{mod_acme_billing => #{api_key => "acme-key"},
                                                             mod_acme_audit => #{}, mod_vcard => #{backend => rdbms}},
                             {modules, <<"type_a">>} => #{mod_acme_billing => #{}, mod_zzz_private => #{}}}),
    Report = report(Config, MimConfig),
    ?assertEqual([#{<<"value">> => 3}], events(<<"custom_module_count">>, Report)),
    ?assertEqual([mod(mod_vcard, [{backend, <<"rdbms">>}])], module_events(Report)),
    Requests = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    Sent = iolist_to_binary([B || #{<<"body">> := B} <- Requests]),
    {ok, File} = file:read_file(filename:join(?config(dir, Config), "system_metrics_report.json")),
    [?assertNot(msm_test:contains(Bytes, Name)) || Bytes <- [Sent, File], Name <- ["acme", "zzz_private"]].

host_and_domain_counts_with_dynamic_domains(Config) ->
    %% Two static hosts and two host types for dynamic domains; five domains in the core.
    MimConfig = mim_config(#{hosts => [<<"localhost">>, <<"anonymous.localhost">>],
                             host_types => [<<"type_a">>, <<"type_b">>],
                             {modules, <<"localhost">>} => #{}, {modules, <<"anonymous.localhost">>} => #{},
                             {modules, <<"type_a">>} => #{}, {modules, <<"type_b">>} => #{}}),
    Domains = [{<<"localhost">>, <<"localhost">>}, {<<"anonymous.localhost">>, <<"anonymous.localhost">>},
               {<<"dyn1.example.com">>, <<"type_a">>}, {<<"dyn2.example.com">>, <<"type_a">>},
               {<<"dyn3.example.com">>, <<"type_b">>}],
    Report = report(Config, MimConfig, [{domains, Domains}]),
    ?assertEqual([#{<<"value">> => 4}], events(<<"host_count">>, Report)),
    ?assertEqual([#{<<"value">> => 5}], events(<<"domain_count">>, Report)),
    ?assertNot(msm_test:contains(term_to_binary(Report), "dyn1")).

cluster_event_from_cets(Config) ->
    Other = 'mim2@host.example.com',
    Components = [{<<"comp1.localhost">>, call(?config(peer, Config), erlang, node, [])},
                  {<<"comp1.localhost">>, call(?config(peer, Config), erlang, node, [])},  % CETS lists per node
                  {<<"comp2.localhost">>, call(?config(peer, Config), erlang, node, [])},
                  {<<"comp3.localhost">>, Other}],
    Report = report(Config, mim_config(#{}),
                    [{components, Components}, {cets_nodes, ['mim1@a', Other, 'mim3@c', 'mim4@d']},
                     {cets_unavailable, ['mim4@d']},
                     {config_path, "/etc/mongooseim/mongooseim.toml"}]),
    [Cluster] = events(<<"cluster">>, Report),
    ?assertMatch(#{<<"version">> := <<"6.8.0">>, <<"component">> := 2, <<"node_number">> := 4,
                   <<"config_type">> := <<"toml">>}, Cluster),
    ?assertMatch({match, _}, re:run(maps:get(<<"uptime">>, Cluster), "^[0-9]{4}-[0-9]{2}:[0-9]{2}:[0-9]{2}$")).

cluster_event_from_mnesia(Config) ->
    Peer = ?config(peer, Config),
    ok = call(Peer, mnesia, start, []),
    try
        Report = report(Config, mim_config(#{internal_databases => #{mnesia => #{}}}),
                        [{config_path, "mongooseim.cfg"}]),
        ?assertMatch([#{<<"node_number">> := 1, <<"config_type">> := <<"cfg">>, <<"component">> := 0}],
                     events(<<"cluster">>, Report))
    after
        call(Peer, mnesia, stop, [])
    end.

listeners_give_apis_transports_and_tls_options(Config) ->
    Common = #{port => 5222, ip_address => "10.1.2.3", ip_tuple => {10, 1, 2, 3}, ip_version => inet, proto => tcp},
    Listen = [Common#{module => mongoose_c2s_listener, connection_type => c2s,
                      tls => #{mode => starttls, certfile => "/etc/ssl/private/c2s.pem", password => "tls-pass"}},
              Common#{port => 5223, module => mongoose_c2s_listener, connection_type => c2s, tls => #{mode => tls}},
              Common#{port => 5269, module => mongoose_s2s_listener, connection_type => s2s,
                      tls => #{mode => starttls_required}},
              Common#{port => 8888, module => mongoose_component_listener, connection_type => component,
                      password => "component-secret", tls => #{mode => tls}},
              Common#{port => 5280, module => ejabberd_cowboy, connection_type => http,
                      handlers => [#{module => mongoose_bosh_handler, host => '_', path => "/http-bind"},
                                   #{module => mongoose_websocket_handler, host => '_', path => "/ws-xmpp"},
                                   #{module => mongoose_graphql_handler, host => '_', path => "/api/graphql",
                                     schema_endpoint => admin, username => "admin", password => "graphql-secret"},
                                   #{module => acme_private_handler, host => "api.acme.example", path => "/x"}]}],
    Report = report(Config, mim_config(#{listen => Listen})),
    ?assertEqual([#{<<"mongoose_bosh_handler">> => <<"enabled">>, <<"mongoose_graphql_handler">> => <<"enabled">>,
                    <<"mongoose_websocket_handler">> => <<"enabled">>}], events(<<"http_api">>, Report)),
    %% As MongooseIM 6.6 and later: its allowlist (MongooseIM 6.8.0,
    %% src/system_metrics/mongoose_system_metrics_collector.erl:148) has no Prometheus
    %% handler; transports are the handler modules and `tcp' (the same file, line 153).
    ?assertEqual([#{<<"tcp">> => <<"enabled">>, <<"mongoose_bosh_handler">> => <<"enabled">>,
                    <<"mongoose_websocket_handler">> => <<"enabled">>}],
                 events(<<"transport_mechanism">>, Report)),
    ?assertEqual([#{<<"mode">> => <<"starttls">>, <<"module">> => <<"just_tls">>},
                  #{<<"mode">> => <<"tls">>, <<"module">> => <<"just_tls">>}],
                 events(<<"tls_option">>, Report)),
    %% The events only: the report's hashes and client id are random hex.
    Bytes = term_to_binary(maps:get(<<"events">>, Report)),
    [?assertNot(msm_test:contains(Bytes, P)) || P <- ["10.1.2.3", "5222", "tls-pass", "graphql-secret", "component-secret",
                                                      "acme", "c2s.pem"]].

%% One event per pool of the outgoing_pools section, as MongooseIM sends them (MongooseIM
%% 6.8.0, src/system_metrics/mongoose_system_metrics_collector.erl:183-186).
outgoing_pools_are_reported_one_by_one(Config) ->
    Pool = fun(Type, Tag) -> #{type => Type, scope => global, tag => Tag, opts => #{workers => 10},
                               conn_opts => #{server => "db.internal.example", password => "db-pass"}} end,
    MimConfig = mim_config(#{outgoing_pools => [Pool(rdbms, default), Pool(rdbms, readonly), Pool(http, push),
                                                Pool(redis, default)],
                             {outgoing_pools, <<"localhost">>} => [(Pool(rdbms, local))#{scope => <<"localhost">>}]}),
    Report = report(Config, MimConfig),
    ?assertEqual([#{<<"value">> => <<"rdbms">>}, #{<<"value">> => <<"rdbms">>},
                  #{<<"value">> => <<"http">>}, #{<<"value">> => <<"redis">>}], events(<<"outgoing_pool">>, Report)),
    ?assertNot(msm_test:contains(term_to_binary(Report), "db-pass")).

stanza(Type, Report) ->
    [Params] = [P || #{<<"stanza_type">> := T} = P <- events(<<"xmpp_stanza_count">>, Report), T =:= Type],
    {maps:get(<<"total">>, Params), maps:get(<<"increment">>, Params)}.

total(Type, Report) ->
    element(1, stanza(Type, Report)).

%% MongooseIM 6.4 and later name the counters xmpp_element_in|out_<kind>_count, summed
%% over connection types (MongooseIM 6.8.0,
%% src/system_metrics/mongoose_system_metrics_collector.erl:216 for exometer, 223 for
%% Prometheus).
prometheus(In, Out) ->
    Series = fun(C2s, S2s) -> [{[{connection_type, c2s}, {host_type, <<"localhost">>}], C2s},
                              {[{connection_type, s2s}, {host_type, <<>>}], S2s}] end,
    #{"xmpp_element_in_message_count" => Series(In, 1), "xmpp_element_out_message_count" => Series(Out, 1),
      "xmpp_element_in_iq_count" => Series(7, 0), "xmpp_element_out_iq_count" => Series(6, 0),
      "xmpp_element_in_presence_count" => Series(3, 0), "xmpp_element_out_presence_count" => Series(2, 0)}.

stanza_counts_from_prometheus(Config) ->
    %% Exometer is configured too: Prometheus wins, as in MongooseIM.
    MimConfig = mim_config(#{instrumentation => #{probe_interval => 15, prometheus => #{}, exometer => #{report => #{}}}}),
    _ = report(Config, MimConfig, [{prometheus, prometheus(10, 20)}, {exometer, exometer(999)}]),
    Second = report(Config, MimConfig, [{prometheus, prometheus(11, 21)}]),
    %% One chat message, sent and received: total + 1, increment 1.
    ?assertEqual({12, 1}, stanza(<<"xmppMessageSent">>, Second)),
    ?assertEqual({22, 1}, stanza(<<"xmppMessageReceived">>, Second)),
    ?assertEqual({7, 0}, stanza(<<"xmppIqSent">>, Second)),
    ?assertEqual(6, length(events(<<"xmpp_stanza_count">>, Second))),
    %% A restarted counter never gives a negative increment.
    Reset = report(Config, MimConfig, [{prometheus, prometheus(2, 3)}]),
    ?assertEqual({3, 3}, stanza(<<"xmppMessageSent">>, Reset)),
    ?assertEqual({7, 0}, stanza(<<"xmppIqSent">>, Reset)).

exometer(Messages) ->
    [{[<<"localhost">>, xmpp_element_in, c2s, message_count], [{count, Messages}, {one, 1}]},
     {[global, xmpp_element_in, s2s, message_count], [{count, 1}, {one, 0}]},
     {[<<"localhost">>, xmpp_element_out, c2s, message_count], [{count, Messages + 5}, {one, 1}]},
     {[<<"localhost">>, xmpp_element_in, c2s, iq_count], [{count, 4}, {one, 0}]},
     {[<<"localhost">>, xmpp_element_out, c2s, iq_count], [{count, 4}, {one, 0}]},
     {[<<"localhost">>, xmpp_element_in, c2s, presence_count], [{count, 2}, {one, 0}]},
     {[<<"localhost">>, xmpp_element_out, c2s, presence_count], [{count, 2}, {one, 0}]},
     {[<<"localhost">>, xmpp_element_in, c2s, byte_size], [{count, 1000}, {one, 0}]}].

stanza_counts_from_exometer(Config) ->
    MimConfig = mim_config(#{instrumentation => #{probe_interval => 15, exometer => #{report => #{}}}}),
    _ = report(Config, MimConfig, [{exometer, exometer(40)}]),
    Second = report(Config, MimConfig, [{exometer, exometer(41)}]),
    ?assertEqual({42, 1}, stanza(<<"xmppMessageSent">>, Second)),
    ?assertEqual({46, 1}, stanza(<<"xmppMessageReceived">>, Second)),
    ?assertEqual({4, 0}, stanza(<<"xmppIqSent">>, Second)).

%% MongooseIM 6.3 counted c2s elements only: [HostType, c2s_element_in, message_count].
exometer_6_3(Messages) ->
    [{[<<"localhost">>, c2s_element_in, message_count], [{count, Messages}, {one, 1}]},
     {[<<"type_b">>, c2s_element_in, message_count], [{count, 2}, {one, 0}]},
     {[<<"localhost">>, c2s_element_out, message_count], [{count, Messages + 5}, {one, 1}]},
     {[<<"localhost">>, c2s_element_in, iq_count], [{count, 4}, {one, 0}]},
     {[<<"localhost">>, c2s_element_out, iq_count], [{count, 3}, {one, 0}]},
     {[<<"localhost">>, c2s_element_in, presence_count], [{count, 2}, {one, 0}]},
     {[<<"localhost">>, c2s_element_out, presence_count], [{count, 1}, {one, 0}]}].

stanza_counts_of_6_3_from_exometer(Config) ->
    MimConfig = mim_config(#{instrumentation => #{probe_interval => 15, exometer => #{report => #{}}}}),
    _ = report(Config, MimConfig, [{exometer, exometer_6_3(40)}]),
    Second = report(Config, MimConfig, [{exometer, exometer_6_3(41)}]),
    ?assertEqual({43, 1}, stanza(<<"xmppMessageSent">>, Second)),
    ?assertEqual({46, 1}, stanza(<<"xmppMessageReceived">>, Second)),
    ?assertEqual({4, 0}, stanza(<<"xmppIqSent">>, Second)),
    ?assertEqual({3, 0}, stanza(<<"xmppIqReceived">>, Second)),
    ?assertEqual({2, 0}, stanza(<<"xmppPresenceSent">>, Second)),
    ?assertEqual({1, 0}, stanza(<<"xmppPresenceReceived">>, Second)).

stanza_counts_of_6_3_from_prometheus(Config) ->
    Series = fun(N) -> [{[{host_type, <<"localhost">>}], N}] end,
    Counters = #{"c2s_element_in_message_count" => Series(5), "c2s_element_out_message_count" => Series(6),
                 "c2s_element_in_iq_count" => Series(7), "c2s_element_out_iq_count" => [],
                 "c2s_element_in_presence_count" => Series(9), "c2s_element_out_presence_count" => Series(10)},
    Report = report(Config, mim_config(#{instrumentation => #{probe_interval => 15, prometheus => #{}}}),
                    [{prometheus, Counters}]),
    ?assertEqual(5, total(<<"xmppMessageSent">>, Report)),
    ?assertEqual(6, total(<<"xmppMessageReceived">>, Report)),
    %% Declared, never incremented: a real zero. (Increments depend on earlier cases.)
    ?assertEqual(0, total(<<"xmppIqReceived">>, Report)),
    ?assertEqual(10, total(<<"xmppPresenceReceived">>, Report)).

%% MongooseIM 6.0 to 6.2 had no instrumentation section; exometer held [Host, StanzaType].
stanza_counts_before_6_3(Config) ->
    Legacy = [{[<<"localhost">>, Type], [{count, N}, {one, 0}]}
              || {Type, N} <- [{xmppMessageSent, 11}, {xmppMessageReceived, 12}, {xmppIqSent, 13},
                               {xmppIqReceived, 14}, {xmppPresenceSent, 15}, {xmppPresenceReceived, 16}]]
             ++ [{[<<"other.host">>, xmppMessageSent], [{count, 100}, {one, 0}]}],
    Report = report(Config, maps:remove(instrumentation, mim_config(#{})), [{exometer, Legacy}]),
    ?assertEqual(111, total(<<"xmppMessageSent">>, Report)),
    ?assertEqual(16, total(<<"xmppPresenceReceived">>, Report)),
    ?assertEqual(6, length(events(<<"xmpp_stanza_count">>, Report))).

%% Counters of an unknown naming are never sent as zeros: the fact is left out, and the
%% reason logged once however many cycles run.
unknown_stanza_counters_are_left_out_and_logged_once(Config) ->
    Peer = ?config(peer, Config),
    MimConfig = mim_config(#{instrumentation => #{probe_interval => 15, exometer => #{report => #{}}}}),
    Renamed = [{[<<"localhost">>, xmpp_stanza_in, message_count], [{count, 3}, {one, 0}]}],
    First = report(Config, MimConfig, [{exometer, Renamed}]),
    _ = report(Config, MimConfig, [{exometer, Renamed}]),
    ?assertEqual([], events(<<"xmpp_stanza_count">>, First)),
    ?assertMatch([_], events(<<"host_count">>, First)),
    Logged = [R || {warning, {report, #{what := system_metrics_stanza_counters_not_found} = R}}
                       <- call(Peer, mim_fixture, logs, [])],
    ?assertMatch([#{backend := exometer}], Logged).

no_instrumentation_no_stanza_counts(Config) ->
    Report = report(Config, mim_config(#{instrumentation => #{probe_interval => 15, log => #{level => info}}}),
                    [{prometheus, prometheus(1, 1)}]),
    ?assertEqual([], events(<<"xmpp_stanza_count">>, Report)).

a_failing_mongooseim_call_leaves_out_only_its_fact(Config) ->
    Peer = ?config(peer, Config),
    First = report(Config, mim_config(#{}), [{domains, crash}]),
    _ = report(Config, mim_config(#{}), [{domains, crash}]),
    ?assertEqual([], events(<<"domain_count">>, First)),
    ?assertEqual([#{<<"value">> => 1}], events(<<"host_count">>, First)),
    ?assertMatch([_], events(<<"cluster">>, First)),
    Failures = [R || {warning, {report, #{what := system_metrics_fact_failed, fact := domain_count} = R}}
                         <- call(Peer, mim_fixture, logs, [])],
    ?assertMatch([#{source := mongoose_system_metrics_mongooseim, reason := {error, badarg}}], Failures).

broken_modules_and_listeners_are_left_out_not_guessed(Config) ->
    %% MongooseIM's modules and listeners read as nonsense: the report says nothing of
    %% them, rather than what the VM would guess (every loaded gen_mod, every socket).
    {ok, Listen} = call(?config(peer, Config), gen_tcp, listen, [0, []]),
    Report = report(Config, maps:remove({modules, <<"localhost">>}, mim_config(#{listen => not_a_list}))),
    [?assertEqual([], events(Name, Report)) || Name <- [<<"module_with_opt">>, <<"custom_module_count">>,
                                                         <<"transport_mechanism">>, <<"tls_option">>]],
    ?assertMatch([_], events(<<"cluster">>, Report)),
    call(?config(peer, Config), gen_tcp, close, [Listen]).

odd_values_in_module_options_never_lose_the_report(Config) ->
    Odd = #{mod_vcard => #{backend => {weird, tuple}, host => self()},
            mod_muc => #{backend => <<255, 254>>, online_backend => make_ref()},
            mod_last => #{backend => list_to_binary(lists:duplicate(100000, $x))},
            mod_roster => not_a_map,
            mod_private => #{backend => rdbms, fn => fun() -> ok end}},
    Report = report(Config, mim_config(#{{modules, <<"localhost">>} => Odd})),
    ?assertEqual(lists:sort([mod(mod_vcard), mod(mod_muc), mod(mod_last), mod(mod_roster),
                             mod(mod_private, [{backend, <<"rdbms">>}])]),
                 module_events(Report)),
    ?assertMatch([_], events(<<"cluster">>, Report)).

the_client_id_is_mongooseims_cluster_id(Config) ->
    ClusterId = <<"ephemeral-7d3c2b1a-0f4e-4d5c-9b8a-1c2d3e4f5a6b">>,
    Report = report(Config, mim_config(#{}), [{cluster_id, ClusterId}]),
    ?assertMatch(#{<<"client_id">> := ClusterId}, Report),
    [#{<<"json">> := #{<<"client_id">> := ClusterId}}] =
        ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    %% An id MongooseIM would not make is not sent; nor is one when none is cached.
    ok = call(?config(peer, Config), ?SERVICE, stop, []),
    Odd = report(Config, mim_config(#{}), [{cluster_id, <<"acme-prod-eu">>}]),
    ?assert(msm_test:is_uuid_v4(maps:get(<<"client_id">>, Odd))),
    %% Without a cached cluster id the node's own id is used.
    ok = call(?config(peer, Config), ?SERVICE, stop, []),
    ok = call(?config(peer, Config), mim_fixture, reset, []),
    Own = report(Config, mim_config(#{})),
    ?assertNotEqual(ClusterId, maps:get(<<"client_id">>, Own)),
    ?assert(msm_test:is_uuid_v4(maps:get(<<"client_id">>, Own))).

started_as_mongooseim_starts_it(Config) ->
    Peer = ?config(peer, Config),
    Spec = call(Peer, ?SERVICE, config_spec, []),
    %% Every node processes its value with a one-argument function, which every 6.x
    %% parser applies (the real parser is run on it in mongooseim_release_SUITE).
    P = fun mongoose_system_metrics_mongooseim:as_parsed/1,
    ?assertMatch({section, #{<<"report">> := {option, boolean, any, P, default},
                             <<"initial_report">> := {option, integer, non_negative, P, default},
                             <<"periodic_report">> := {option, integer, non_negative, P, default},
                             <<"ca_bundle">> := {option, string, non_empty, P, default},
                             <<"tracking_id">> := {section, #{<<"id">> := _, <<"secret">> := _}, any, all, any, map,
                                                   P, #{}, default, when_present}},
                  any, [], any, map, P, #{}, default, when_present}, Spec),
    %% What MongooseIM's TOML parser gives start/1: atom keys, strings as charlists.
    TomlOpts = #{initial_report => 60000, periodic_report => 10800000,
                 tracking_id => #{id => "G-OPERATOR1", secret => "operator-secret-123"},
                 google_analytics_url => ga4_collector_port:url(?config(collector, Config)),
                 report_file => filename:join(?config(dir, Config), "system_metrics_report.json")},
    ok = call(Peer, mongoose_config, set_opts, [mim_config(#{services => #{?SERVICE => TomlOpts}})]),
    {ok, Pid} = call(Peer, ?SERVICE, start, [TomlOpts]),
    ?assert(is_pid(Pid)),
    ?assertEqual(ok, call(Peer, ?SERVICE, verify_if_configured, [])),
    Notices = [T || {warning, {report, #{what := report_transparency, text := T}}} <- call(Peer, mim_fixture, logs, [])],
    ?assertMatch([_], Notices),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} = call(Peer, ?SERVICE, report_now, []),
    ok = call(Peer, ?SERVICE, stop, []),
    ?assertEqual(undefined, whereis_service(Peer)).

%% MongooseIM's own test suites point its service at their server with the global
%% `google_analytics_url' key (a full collect URL): without the option, so does this one.
mongooseims_global_google_analytics_url_is_honoured(Config) ->
    Peer = ?config(peer, Config),
    Collector = ?config(collector, Config),
    Options = maps:remove(google_analytics_url, options(Config)),
    ok = call(Peer, mongoose_config, set_opts,
              [mim_config(#{google_analytics_url => ga4_collector_port:url(Collector) ++ "/mp/collect"})]),
    {ok, _} = call(Peer, ?SERVICE, start, [Options]),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} = call(Peer, ?SERVICE, report_now, []),
    [_] = ga4_collector_port:wait_for_requests(Collector, <<"/mp/collect">>, 1),
    %% The service's own option wins.
    ok = call(Peer, ?SERVICE, stop, []),
    ok = call(Peer, mongoose_config, set_opts, [mim_config(#{google_analytics_url => "http://127.0.0.1:9/mp/collect"})]),
    {ok, _} = call(Peer, ?SERVICE, start, [options(Config)]),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} = call(Peer, ?SERVICE, report_now, []).

verify_if_configured_reads_the_services_section(Config) ->
    Peer = ?config(peer, Config),
    ok = call(Peer, mongoose_config, set_opts, [mim_config(#{services => #{}})]),
    ?assertEqual(ignore, call(Peer, ?SERVICE, verify_if_configured, [])),
    ?assertMatch([#{what := system_metrics_disabled}],
                 [R || {warning, {report, R}} <- call(Peer, mim_fixture, logs, [])]),
    ok = call(Peer, mongoose_config, set_opts, [mim_config(#{services => #{?SERVICE => #{report => false}}})]),
    ?assertEqual(ok, call(Peer, ?SERVICE, verify_if_configured, [])).

no_private_value_leaves_the_node(Config) ->
    Peer = ?config(peer, Config),
    {ok, _} = call(Peer, ?SERVICE, start, [options(Config)]),
    File = filename:join(?config(dir, Config), "system_metrics_report.json"),
    Result = call(Peer, mim_privacy_prop, check, [2000, ?config(collector, Config), File]),
    ?assertEqual(true, Result).
