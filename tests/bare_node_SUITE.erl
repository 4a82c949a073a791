%% @doc The service in fresh nodes (OTP `peer') that have nothing but the code path,
%% as MongooseIM loads it: it starts its own application, and its client id survives a
%% restart of the whole node.
-module(bare_node_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(SERVICE, service_mongoose_system_metrics).

all() ->
    [start_works_with_only_the_code_path,
     last_report_is_no_report_before_any_cycle,
     the_client_id_survives_a_restart_of_the_node].

init_per_testcase(_Case, Config) ->
    msm_test:init_case(Config, "bare").

end_per_testcase(_Case, Config) ->
    msm_test:end_case(Config).

start_peer() ->
    Ebin = filename:dirname(code:which(?SERVICE)),
    {Peer, _Node} = msm_test:start_peer(#{connection => standard_io, args => ["-pa", Ebin | msm_test:peer_args()]}),
    Peer.

options(Config) ->
    msm_test:options(?config(collector, Config), ?config(dir, Config), #{}).

start_works_with_only_the_code_path(Config) ->
    Peer = start_peer(),
    Running = fun() -> [A || {A, _, _} <- peer:call(Peer, application, which_applications, [])] end,
    ?assertNot(lists:member(mongoose_system_metrics, Running())),
    {ok, Pid} = peer:call(Peer, ?SERVICE, start, [options(Config)]),
    ?assert(is_pid(Pid)),
    ?assert(lists:member(mongoose_system_metrics, Running())),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} = peer:call(Peer, ?SERVICE, report_now, []),
    [_] = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1).

last_report_is_no_report_before_any_cycle(_Config) ->
    Peer = start_peer(),
    ?assertEqual({error, no_report}, peer:call(Peer, ?SERVICE, last_report, [])),
    ?assertEqual({error, not_running}, peer:call(Peer, ?SERVICE, report_now, [])).

the_client_id_survives_a_restart_of_the_node(Config) ->
    First = start_peer(),
    {ok, _} = peer:call(First, ?SERVICE, start, [options(Config)]),
    {ok, #{<<"client_id">> := ClientId}} = peer:call(First, ?SERVICE, report_now, []),
    peer:stop(First),
    Second = start_peer(),
    {ok, _} = peer:call(Second, ?SERVICE, start, [options(Config)]),
    {ok, #{<<"client_id">> := Again}} = peer:call(Second, ?SERVICE, report_now, []),
    ?assertEqual(ClientId, Again).
