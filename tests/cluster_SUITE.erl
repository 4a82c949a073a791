%% @doc Clusters of real nodes (OTP `peer', connected over Erlang distribution): one
%% client id and one report per period for the whole cluster, with its summed facts;
%% fail-over when the reporting node stops or dies; a late joiner adopts the cluster's
%% id; a restart of every node keeps it; stanza increments are counted node by node, so
%% neither a hand-over nor a node leaving distorts them.
-module(cluster_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(SERVICE, service_mongoose_system_metrics).
-define(PERIOD, 500).

all() ->
    [one_report_per_period_with_the_cluster_s_facts,
     the_next_node_takes_over_when_the_reporter_stops,
     the_next_node_takes_over_when_the_reporter_dies,
     a_slow_member_is_left_out_and_counted,
     a_node_that_joins_late_adopts_the_cluster_s_id,
     a_restart_of_every_node_keeps_the_id,
     increments_survive_a_hand_over_and_a_node_leaving].

init_per_suite(Config) ->
    [{fixtures, msm_test:compile_fixtures(Config, "cluster_fixtures")} | Config].

end_per_suite(_Config) ->
    ok.

init_per_testcase(Case, Config) ->
    Suffix = integer_to_list(erlang:unique_integer([positive])),
    Names = [atom_to_list(Case) ++ "_" ++ Suffix ++ "_" ++ [L] || L <- "abc"],
    Dirs = [msm_test:fresh_dir(Config, "node_" ++ [L]) || L <- "abc"],
    [{collector, ga4_collector_port:start()}, {names, Names}, {dirs, Dirs}, {nodes, []} | Config].

end_per_testcase(_Case, Config) ->
    [catch peer:stop(Peer) || {Peer, _} <- started()],
    erase(started),
    ga4_collector_port:stop(?config(collector, Config)).

%% Nodes started by this test case, as {Peer, Node}.
started() ->
    case get(started) of undefined -> []; Started -> Started end.

%% Starts node I (1 to 3) with the service; it joins the nodes already up.
start_node(Config, I) ->
    Name = lists:nth(I, ?config(names, Config)),
    Paths = [filename:dirname(code:which(?SERVICE)), ?config(fixtures, Config)],
    {ok, Peer, _} = peer:start(#{connection => standard_io,
                                 args => ["-sname", Name, "-setcookie", "msm_cluster" | msm_test:peer_args() ++ ["-pa" | Paths]]}),
    Node = peer:call(Peer, erlang, node, []),
    [true = peer:call(Peer, net_kernel, connect_node, [Other]) || {_, Other} <- started()],
    ok = peer:call(Peer, application, load, [mongoose_system_metrics]),
    ok = peer:call(Peer, application, set_env, [mongoose_system_metrics, facts_source, cluster_source]),
    Options = msm_test:options(?config(collector, Config), lists:nth(I, ?config(dirs, Config)),
                               #{initial_report => 0, periodic_report => ?PERIOD}),
    {ok, _} = peer:call(Peer, ?SERVICE, start, [Options]),
    put(started, started() ++ [{Peer, Node}]),
    {Peer, Node}.

client_id(Peer) ->
    #{client_id := Id} = peer:call(Peer, ?SERVICE, status, []),
    Id.

requests(Config) ->
    [R || #{<<"path">> := <<"/mp/collect">>} = R <- ga4_collector_port:requests(?config(collector, Config))].

cluster_params(#{<<"json">> := #{<<"events">> := Events}}) ->
    [Params] = [P || #{<<"name">> := <<"cluster">>, <<"params">> := P} <- Events],
    Params.

%% The longest time between two reports received after `Since'.
longest_gap(Requests, Since) ->
    Times = lists:sort([T || #{<<"received_ms">> := T} <- Requests, T >= Since]),
    lists:max([0 | [B - A || {A, B} <- lists:zip(lists:droplast(Times), tl(Times))]]).

%% Three nodes up, one after the other, and the collector told to forget the start-up.
three_nodes(Config) ->
    Nodes = [start_node(Config, I) || I <- [1, 2, 3]],
    timer:sleep(2 * ?PERIOD),
    ga4_collector_port:clear(?config(collector, Config)),
    Nodes.

one_report_per_period_with_the_cluster_s_facts(Config) ->
    [{A, _}, {B, _}, {C, _}] = three_nodes(Config),
    timer:sleep(6 * ?PERIOD + ?PERIOD div 2),
    Requests = requests(Config),
    %% Six or seven periods: one report each, where three nodes alone would send 18 or more.
    ?assert(length(Requests) >= 5 andalso length(Requests) =< 8, length(Requests)),
    ClientIds = lists:usort([Id || #{<<"json">> := #{<<"client_id">> := Id}} <- Requests]),
    ?assertEqual([client_id(A)], ClientIds),
    ?assertEqual(client_id(A), client_id(B)),
    ?assertEqual(client_id(A), client_id(C)),
    Last = lists:last(Requests),
    ?assertMatch(#{<<"node_number">> := 3, <<"component">> := 3}, cluster_params(Last)),
    #{<<"json">> := #{<<"events">> := Events}} = Last,
    [Sent] = [P || #{<<"name">> := <<"xmpp_stanza_count">>, <<"params">> := #{<<"stanza_type">> := <<"xmppMessageSent">>} = P} <- Events],
    ?assertMatch(#{<<"total">> := 30, <<"increment">> := 0}, Sent),
    %% Only the reporting node writes its report file.
    [DirA, DirB, _] = ?config(dirs, Config),
    ?assert(filelib:is_file(filename:join(DirA, "system_metrics_report.json"))),
    ?assertNot(filelib:is_file(filename:join(DirB, "system_metrics_report.json"))).

the_next_node_takes_over_when_the_reporter_stops(Config) ->
    [{A, _}, {B, _}, _] = three_nodes(Config),
    timer:sleep(2 * ?PERIOD),
    Stopped = os:system_time(millisecond),
    ok = peer:call(A, ?SERVICE, stop, []),
    timer:sleep(5 * ?PERIOD),
    After = [R || #{<<"received_ms">> := T} = R <- requests(Config), T > Stopped + ?PERIOD],
    ?assert(length(After) >= 3, length(After)),
    ?assertMatch(#{<<"node_number">> := 2, <<"component">> := 2}, cluster_params(lists:last(After))),
    %% Taking over costs no period: reports stay less than two periods apart.
    ?assert(longest_gap(requests(Config), Stopped - ?PERIOD) < 2 * ?PERIOD),
    ?assertEqual([client_id(B)], lists:usort([Id || #{<<"json">> := #{<<"client_id">> := Id}} <- After])).

the_next_node_takes_over_when_the_reporter_dies(Config) ->
    [{A, _}, _, _] = three_nodes(Config),
    timer:sleep(2 * ?PERIOD),
    OsPid = peer:call(A, os, getpid, []),
    Killed = os:system_time(millisecond),
    os:cmd("kill -9 " ++ OsPid),
    timer:sleep(5 * ?PERIOD),
    After = [R || #{<<"received_ms">> := T} = R <- requests(Config), T > Killed + ?PERIOD],
    ?assert(length(After) >= 3, length(After)),
    ?assertMatch(#{<<"node_number">> := 2}, cluster_params(lists:last(After))),
    ?assert(longest_gap(requests(Config), Killed - ?PERIOD) < 2 * ?PERIOD).

a_slow_member_is_left_out_and_counted(Config) ->
    [_, _, {C, _}] = three_nodes(Config),
    %% Node c answers only after the reporter stopped waiting (a quarter period).
    ok = peer:call(C, application, set_env, [mongoose_system_metrics, slow_facts, ?PERIOD]),
    Slowed = os:system_time(millisecond),
    timer:sleep(4 * ?PERIOD),
    After = [R || #{<<"received_ms">> := T} = R <- requests(Config), T > Slowed + ?PERIOD],
    ?assert(length(After) >= 2, length(After)),
    ?assertMatch(#{<<"node_number">> := 3, <<"component">> := 2, <<"unreachable_nodes">> := 1},
                 cluster_params(lists:last(After))),
    %% The slow member held no cycle up.
    ?assert(longest_gap(requests(Config), Slowed) < 2 * ?PERIOD).

a_node_that_joins_late_adopts_the_cluster_s_id(Config) ->
    %% Nodes b and c form the cluster; a, whose name is the smallest, joins later and
    %% so becomes the one that reports, with the cluster's id and without a double report.
    Names = ?config(names, Config),
    Late = [{names, [lists:nth(2, Names), lists:nth(3, Names), lists:nth(1, Names)]},
            {dirs, tl(?config(dirs, Config)) ++ [hd(?config(dirs, Config))]} | Config],
    [{B, _}, {C, _}] = [start_node(Late, I) || I <- [1, 2]],
    timer:sleep(3 * ?PERIOD),
    ClusterId = client_id(B),
    ?assertEqual(ClusterId, client_id(C)),
    Joined = os:system_time(millisecond),
    {A, _} = start_node(Late, 3),
    timer:sleep(4 * ?PERIOD),
    ?assertEqual(ClusterId, client_id(A)),
    After = [R || #{<<"received_ms">> := T} = R <- requests(Config), T > Joined],
    ?assertEqual([ClusterId], lists:usort([Id || #{<<"json">> := #{<<"client_id">> := Id}} <- After])),
    ?assertMatch(#{<<"node_number">> := 3}, cluster_params(lists:last(After))),
    %% No two reports closer than half a period: the newcomer waited for its turn.
    Times = lists:sort([T || #{<<"received_ms">> := T} <- requests(Config)]),
    ?assert(lists:min([B2 - A2 || {A2, B2} <- lists:zip(lists:droplast(Times), tl(Times))]) > ?PERIOD div 2),
    {ok, Saved} = file:read_file(filename:join(hd(?config(dirs, Config)), "system_metrics_client_id")),
    ?assertMatch([ClusterId | _], binary:split(Saved, <<"\n">>)).

a_restart_of_every_node_keeps_the_id(Config) ->
    [{A, _}, _, _] = three_nodes(Config),
    ClusterId = client_id(A),
    [peer:stop(Peer) || {Peer, _} <- started()],
    erase(started),
    [{A2, _}, {B2, _}, {C2, _}] = [start_node(Config, I) || I <- [1, 2, 3]],
    ?assertEqual([ClusterId], lists:usort([client_id(P) || P <- [A2, B2, C2]])).

%% {Total, Increment} of sent messages in each report, in order.
messages_sent(Requests) ->
    [{Total, Increment}
     || #{<<"json">> := #{<<"events">> := Events}} <- Requests,
        #{<<"name">> := <<"xmpp_stanza_count">>,
          <<"params">> := #{<<"stanza_type">> := <<"xmppMessageSent">>,
                            <<"total">> := Total, <<"increment">> := Increment}} <- Events].

%% The reports once the total changed from `Before': the first shows the increment, the
%% others none.
after_change(Before, Requests) ->
    lists:dropwhile(fun({Total, _}) -> Total =:= Before end, messages_sent(Requests)).

increments_survive_a_hand_over_and_a_node_leaving(Config) ->
    [{A, _}, _, {C, _}] = three_nodes(Config),
    timer:sleep(2 * ?PERIOD),
    ?assertMatch([{30, 0} | _], lists:reverse(messages_sent(requests(Config)))),
    %% Node c sends five more messages: the cluster's increment is five.
    ok = peer:call(C, application, set_env, [mongoose_system_metrics, messages_sent, 15]),
    timer:sleep(3 * ?PERIOD),
    ?assertMatch([{35, 5}, {35, 0} | _], after_change(30, requests(Config))),
    %% The reporter leaves; b takes over with the baseline a announced. The cluster's
    %% total falls by a's ten, yet nobody's counter was reset: the increment is 0, not 25.
    ok = peer:call(A, ?SERVICE, stop, []),
    Stopped = os:system_time(millisecond),
    timer:sleep(3 * ?PERIOD),
    After = [R || #{<<"received_ms">> := T} = R <- requests(Config), T > Stopped],
    ?assertMatch([{25, 0}, {25, 0} | _], messages_sent(After)),
    ?assertEqual([{25, 0}], lists:usort(messages_sent(After))),
    %% Node c restarts its counter and has sent two since: the increment is those two.
    ok = peer:call(C, application, set_env, [mongoose_system_metrics, messages_sent, 2]),
    timer:sleep(3 * ?PERIOD),
    Later = [R || #{<<"received_ms">> := T} = R <- requests(Config), T > Stopped],
    ?assertMatch([{12, 2}, {12, 0} | _], after_change(25, Later)).
