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
    [{collector, ga4_collector_port:start()}, {names, Names}, {dirs, Dirs} | Config].

end_per_testcase(_Case, Config) ->
    msm_test:end_case(Config).

%% Starts node I (1 to 3) and its service; it joins the nodes already up.
start_node(Config, I) ->
    {Peer, Node} = boot_node(Config, I),
    start_service(Config, I, Peer),
    {Peer, Node}.

%% Node I up and connected to the nodes already up, its application started, and the
%% services running there seen in its `pg' group, so that its own service's first cycle
%% sees the cluster. (A service that starts before it sees the others reports alone,
%% once: not what these cases are about.)
boot_node(Config, I) ->
    Name = lists:nth(I, ?config(names, Config)),
    Paths = [filename:dirname(code:which(?SERVICE)), ?config(fixtures, Config)],
    Up = msm_test:case_peers(),
    {Peer, Node} = msm_test:start_peer(#{connection => standard_io,
                                         args => ["-sname", Name, "-setcookie", "msm_cluster" | msm_test:peer_args() ++ ["-pa" | Paths]]}),
    [true = peer:call(Peer, net_kernel, connect_node, [Other]) || {_, Other} <- Up],
    ok = peer:call(Peer, application, load, [mongoose_system_metrics]),
    ok = peer:call(Peer, application, set_env, [mongoose_system_metrics, facts_source, cluster_source]),
    {ok, _} = peer:call(Peer, application, ensure_all_started, [mongoose_system_metrics]),
    Running = length([P || {P, _} <- Up, is_pid(peer:call(P, erlang, whereis, [?SERVICE]))]),
    msm_test:wait_until(Name ++ " to see the services running",
                        fun() -> member_count(Peer) =:= Running + 1 end),
    {Peer, Node}.

start_service(Config, I, Peer) ->
    Options = msm_test:options(?config(collector, Config), lists:nth(I, ?config(dirs, Config)),
                               #{initial_report => 0, periodic_report => ?PERIOD}),
    {ok, _} = peer:call(Peer, ?SERVICE, start, [Options]).

%% How many nodes run the service, as the node sees it (itself counted).
member_count(Peer) ->
    peer:call(Peer, mongoose_system_metrics_cluster, member_count, []).

%% Every node sees the service of every other one: from then on only the reporter reports.
wait_for_the_cluster(Nodes) ->
    [msm_test:wait_until(atom_to_list(Node) ++ " to see every service",
                         fun() -> member_count(Peer) =:= length(Nodes) end)
     || {Peer, Node} <- Nodes],
    ok.

client_id(Peer) ->
    #{client_id := Id} = peer:call(Peer, ?SERVICE, status, []),
    Id.

%% The one client id of every node, once they agree.
wait_for_one_client_id(Nodes) ->
    msm_test:wait_until("one client id on every node",
                        fun() ->
                                case lists:usort([client_id(P) || {P, _} <- Nodes]) of
                                    [Id] -> Id;
                                    _ -> false
                                end
                        end).

requests(Config) ->
    [R || #{<<"path">> := <<"/mp/collect">>} = R <- ga4_collector_port:requests(?config(collector, Config))].

%% The reports received after `Since' (system time, milliseconds).
requests_after(Config, Since) ->
    [R || #{<<"received_ms">> := T} = R <- requests(Config), T > Since].

%% Waits until at least N reports were received after `Since', and returns them.
wait_for_requests_after(Config, Since, N) ->
    msm_test:wait_until(lists:flatten(io_lib:format("~b reports", [N])),
                        fun() ->
                                Requests = requests_after(Config, Since),
                                length(Requests) >= N andalso Requests
                        end).

cluster_params(#{<<"json">> := #{<<"events">> := Events}}) ->
    [Params] = [P || #{<<"name">> := <<"cluster">>, <<"params">> := P} <- Events],
    Params.

%% The longest time between two reports received after `Since'.
longest_gap(Requests, Since) ->
    Times = lists:sort([T || #{<<"received_ms">> := T} <- Requests, T >= Since]),
    lists:max([0 | [B - A || {A, B} <- lists:zip(lists:droplast(Times), tl(Times))]]).

%% Three nodes up, one after the other, every one seeing the others, and the collector
%% told to forget the start-up.
three_nodes(Config) ->
    Nodes = [start_node(Config, I) || I <- [1, 2, 3]],
    wait_for_the_cluster(Nodes),
    ga4_collector_port:clear(?config(collector, Config)),
    Nodes.

one_report_per_period_with_the_cluster_s_facts(Config) ->
    [{A, _}, {B, _}, {C, _}] = three_nodes(Config),
    Requests = lists:sublist(wait_for_requests_after(Config, 0, 6), 6),
    %% One report per period for the whole cluster: six take five periods, less the first
    %% one's delay. Three nodes reporting alone would send them in two.
    Times = [T || #{<<"received_ms">> := T} <- Requests],
    ?assert(lists:last(Times) - hd(Times) >= 4 * ?PERIOD, Times),
    ClientIds = lists:usort([Id || #{<<"json">> := #{<<"client_id">> := Id}} <- Requests]),
    ?assertEqual([client_id(A)], ClientIds),
    ?assertEqual(client_id(A), client_id(B)),
    ?assertEqual(client_id(A), client_id(C)),
    Last = lists:last(Requests),
    ?assertMatch(#{<<"node_number">> := 3, <<"component">> := 3}, cluster_params(Last)),
    #{<<"json">> := #{<<"events">> := Events}} = Last,
    [Sent] = [P || #{<<"name">> := <<"xmpp_stanza_count">>, <<"params">> := #{<<"stanza_type">> := <<"xmppMessageSent">>} = P} <- Events],
    ?assertMatch(#{<<"total">> := 30, <<"increment">> := 0}, Sent),
    %% Only the reporting node writes its report file and its send log.
    [DirA | Others] = ?config(dirs, Config),
    ?assert(filelib:is_file(filename:join(DirA, "system_metrics_report.json"))),
    [?assertNot(filelib:is_file(filename:join(Dir, File)), {Dir, File})
     || Dir <- Others, File <- ["system_metrics_report.json", "system_metrics_send_log.jsonl"]].

the_next_node_takes_over_when_the_reporter_stops(Config) ->
    [{A, _}, {B, _}, _] = three_nodes(Config),
    _ = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 2),
    Stopped = os:system_time(millisecond),
    ok = peer:call(A, ?SERVICE, stop, []),
    After = wait_for_requests_after(Config, Stopped + ?PERIOD, 3),
    ?assertMatch(#{<<"node_number">> := 2, <<"component">> := 2}, cluster_params(lists:last(After))),
    %% Taking over costs no period: reports stay less than two periods apart.
    ?assert(longest_gap(requests(Config), Stopped - ?PERIOD) < 2 * ?PERIOD),
    ?assertEqual([client_id(B)], lists:usort([Id || #{<<"json">> := #{<<"client_id">> := Id}} <- After])).

the_next_node_takes_over_when_the_reporter_dies(Config) ->
    [{A, _}, _, _] = three_nodes(Config),
    _ = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 2),
    OsPid = peer:call(A, os, getpid, []),
    Killed = os:system_time(millisecond),
    os:cmd("kill -9 " ++ OsPid),
    After = wait_for_requests_after(Config, Killed + ?PERIOD, 3),
    ?assertMatch(#{<<"node_number">> := 2}, cluster_params(lists:last(After))),
    ?assert(longest_gap(requests(Config), Killed - ?PERIOD) < 2 * ?PERIOD).

a_slow_member_is_left_out_and_counted(Config) ->
    [_, _, {C, _}] = three_nodes(Config),
    %% Node c answers only after the reporter stopped waiting (a quarter period).
    ok = peer:call(C, application, set_env, [mongoose_system_metrics, slow_facts, ?PERIOD]),
    Slowed = os:system_time(millisecond),
    After = wait_for_requests_after(Config, Slowed + ?PERIOD, 2),
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
    [_, {C, _}] = Formed = [start_node(Late, I) || I <- [1, 2]],
    wait_for_the_cluster(Formed),
    ClusterId = wait_for_one_client_id(Formed),
    {A, _} = boot_node(Late, 3),
    %% Its service starts just after b reported (c has heard of it), so that its first
    %% cycle, due at once, has to wait for its turn.
    Heard = peer:call(C, mongoose_system_metrics_cluster, last_report_elsewhere, []),
    msm_test:wait_until("a new report of b's",
                        fun() -> peer:call(C, mongoose_system_metrics_cluster, last_report_elsewhere, []) =/= Heard end),
    Joined = os:system_time(millisecond),
    start_service(Late, 3, A),
    After = wait_for_requests_after(Config, Joined, 2),
    ?assertEqual(ClusterId, client_id(A)),
    ?assertEqual([ClusterId], lists:usort([Id || #{<<"json">> := #{<<"client_id">> := Id}} <- After])),
    ?assertMatch(#{<<"node_number">> := 3}, cluster_params(lists:last(After))),
    %% No two reports closer than half a period: the newcomer waited for its turn.
    Times = lists:sort([T || #{<<"received_ms">> := T} <- requests(Config)]),
    ?assert(lists:min([B2 - A2 || {A2, B2} <- lists:zip(lists:droplast(Times), tl(Times))]) > ?PERIOD div 2, Times),
    {ok, Saved} = file:read_file(filename:join(hd(?config(dirs, Config)), "system_metrics_client_id")),
    ?assertMatch([ClusterId | _], binary:split(Saved, <<"\n">>)).

a_restart_of_every_node_keeps_the_id(Config) ->
    ClusterId = wait_for_one_client_id(three_nodes(Config)),
    msm_test:stop_peers(),
    Restarted = [start_node(Config, I) || I <- [1, 2, 3]],
    ?assertEqual([ClusterId], lists:usort([client_id(P) || {P, _} <- Restarted])).

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

%% Waits until two reports received after `Since' show a total other than `Before'; the
%% reports from the first of those on.
wait_for_change(Config, Since, Before) ->
    msm_test:wait_until(lists:flatten(io_lib:format("two reports of a total other than ~b", [Before])),
                        fun() ->
                                case after_change(Before, requests_after(Config, Since)) of
                                    [_, _ | _] = Changed -> Changed;
                                    _ -> false
                                end
                        end).

increments_survive_a_hand_over_and_a_node_leaving(Config) ->
    [{A, _}, _, {C, _}] = three_nodes(Config),
    msm_test:wait_until("a report of the cluster's 30 messages, none new",
                        fun() -> lists:last([none | messages_sent(requests(Config))]) =:= {30, 0} end),
    %% Node c sends five more messages: the cluster's increment is five.
    Sent = os:system_time(millisecond),
    ok = peer:call(C, application, set_env, [mongoose_system_metrics, messages_sent, 15]),
    ?assertMatch([{35, 5}, {35, 0} | _], wait_for_change(Config, Sent, 30)),
    %% The reporter leaves; b takes over with the baseline a announced. The cluster's
    %% total falls by a's ten, yet nobody's counter was reset: the increment is 0, not 25.
    ok = peer:call(A, ?SERVICE, stop, []),
    Stopped = os:system_time(millisecond),
    After = wait_for_requests_after(Config, Stopped, 3),
    ?assertMatch([{25, 0}, {25, 0} | _], messages_sent(After)),
    ?assertEqual([{25, 0}], lists:usort(messages_sent(After))),
    %% Node c restarts its counter and has sent two since: the increment is those two.
    Restarted = os:system_time(millisecond),
    ok = peer:call(C, application, set_env, [mongoose_system_metrics, messages_sent, 2]),
    ?assertMatch([{12, 2}, {12, 0} | _], wait_for_change(Config, Restarted, 25)).
