%% @doc One report per cluster, over Erlang distribution and nothing else.
%%
%% The services of a cluster find each other in a `pg' group (limited to the host's own
%% cluster where the host says which nodes form it). The member on the node with the
%% smallest name reports; the others follow. The reporter gathers every member's
%% facts (`member_info/0', over `erpc' with a timeout: a slow or dead member is left out
%% and counted), and the core merges them into one report. After each report the reporter
%% tells the others its time and the core's hand-over (the cluster's identity and stanza
%% totals), so that whichever member takes over next carries on within one period, with
%% the same client id and increments.
%%
%% The client id is MongooseIM's persistent cluster id where the host has one; elsewhere
%% the oldest identity among the members wins: the reporter sends with it, and takes it
%% on, and the others take it on from the hand-over. A node that joins so takes the
%% cluster's, and a cluster restarted whole keeps it. Each member's service keeps its
%% current identity with `set_identity/1', where `member_info/0' reads it without asking
%% the (possibly busy) service process.
-module(mongoose_system_metrics_cluster).

-export([scope/0, join/0, monitor_members/0, is_reporter/0, member_count/0, is_member/1,
         own_facts/0, gather/1, member_info/0, set_identity/1, announce/2,
         last_report_elsewhere/0, remember_report/2]).

-define(SCOPE, mongoose_system_metrics_pg).
-define(GROUP, service_mongoose_system_metrics).

-type gathered() :: #{facts := mongoose_system_metrics_facts:facts(),
                      identity := identity() | undefined,
                      last_report_ms := integer() | undefined}.
-type identity() :: mongoose_system_metrics_core:identity().
-export_type([gathered/0]).

%% @doc The `pg' scope the application starts.
-spec scope() -> atom().
scope() ->
    ?SCOPE.

%% @doc Makes the calling service a member.
-spec join() -> ok.
join() ->
    pg:join(?SCOPE, ?GROUP, self()).

%% @doc Subscribes the caller to joins and leaves: `{Ref, join | leave, Group, Pids}'.
-spec monitor_members() -> reference().
monitor_members() ->
    {Ref, _Members} = pg:monitor(?SCOPE, ?GROUP),
    Ref.

%% @doc Whether this node's service is the one that reports: the member on the node with
%% the smallest name, or this one when it is alone.
-spec is_reporter() -> boolean().
is_reporter() ->
    case nodes_with_service() of
        [] -> true;
        Nodes -> lists:min(Nodes) =:= node()
    end.

%% @doc Whether the service on `Node' belongs to this node's cluster.
-spec is_member(node()) -> boolean().
is_member(Node) ->
    lists:member(Node, nodes_with_service()).

%% @doc How many nodes run the service, this one included.
-spec member_count() -> pos_integer().
member_count() ->
    length(lists:usort([node() | nodes_with_service()])).

%% The nodes whose service is in the group, and, when the host says which nodes form its
%% cluster (MongooseIM's database), only those: a node that left the cluster may stay
%% connected over distribution, yet it reports on its own.
nodes_with_service() ->
    Members = try lists:usort([node(Pid) || Pid <- pg:get_members(?SCOPE, ?GROUP)])
              catch error:badarg -> []  % the scope is not running (the application is not started)
              end,
    case mongoose_system_metrics_collect:host_cluster_nodes() of
        undefined -> Members;
        Cluster -> [N || N <- Members, lists:member(N, Cluster)]
    end.

%% @doc This node's facts with the other members', the identity elected for the cluster
%% (`undefined' under the host's cluster id), and when the cluster last reported. Members
%% that do not answer within `Timeout' milliseconds are left out and counted.
-spec gather(non_neg_integer()) -> gathered().
gather(Timeout) ->
    Local = own_facts(),
    Others = [N || N <- nodes_with_service(), N =/= node()],
    Answers = erpc:multicall(Others, ?MODULE, member_info, [], Timeout),
    Infos = [Info || {ok, #{facts := _} = Info} <- Answers],
    Facts = case Others of
                [] -> Local;
                _ -> Local#{cluster => #{members => [F || #{facts := F} <- Infos],
                                         unreachable => length(Others) - length(Infos)}}
            end,
    Identity = case maps:find(client_id, Local) of
                   {ok, _HostId} -> undefined;
                   error -> oldest([I || #{identity := I} <- Infos] ++ own_identity())
               end,
    Lasts = [At || {At, Node} <- [last_report() | [L || #{last_report := L} <- Infos]], Node =/= node()],
    #{facts => Facts,
      identity => Identity,
      last_report_ms => case Lasts of [] -> undefined; _ -> lists:max(Lasts) end}.

%% @doc What a member tells the reporter: its facts, its identity and the last report it
%% heard of. Runs on the member, in the caller's `erpc' process.
-spec member_info() -> #{facts := mongoose_system_metrics_facts:facts(),
                         identity => identity(), last_report := {integer(), node()} | none}.
member_info() ->
    Info = #{facts => maps:remove(client_id, own_facts()),
             last_report => last_report()},
    case own_identity() of
        [Identity] -> Info#{identity => Identity};
        [] -> Info
    end.

%% @doc Keeps the identity this node's reports go out with, for `member_info/0'.
-spec set_identity(identity() | undefined) -> ok.
set_identity(Identity) ->
    mongoose_system_metrics_state:set(identity, Identity).

%% @doc Tells the other members of this cluster that it reported at `At': they remember
%% when, and take on the hand-over. A node that left the host's cluster, though still
%% connected, is not told: it reports for itself.
-spec announce(integer(), mongoose_system_metrics_core:hand_over()) -> ok.
announce(At, HandOver) ->
    remember_report(At, node()),
    Members = nodes_with_service(),
    [gen_server:cast(Pid, {cluster_reported, At, node(), HandOver})
     || Pid <- pg:get_members(?SCOPE, ?GROUP), node(Pid) =/= node(), lists:member(node(Pid), Members)],
    ok.

%% @doc When another node last reported for the cluster, in system time milliseconds.
-spec last_report_elsewhere() -> integer() | undefined.
last_report_elsewhere() ->
    case last_report() of
        {At, Node} when Node =/= node() -> At;
        _ -> undefined
    end.

%% @doc Remembers that `Node' reported for the cluster at `At'.
-spec remember_report(integer(), node()) -> ok.
remember_report(At, Node) ->
    mongoose_system_metrics_state:set(last_cluster_report, {At, Node}).

last_report() ->
    mongoose_system_metrics_state:get(last_cluster_report, none).

%% @doc This node's facts, with how many nodes run the service (unless the host says)
%% and the node's name, which matches its stanza counters from one report to the next and
%% is never reported.
-spec own_facts() -> mongoose_system_metrics_facts:facts().
own_facts() ->
    Facts = maps:merge(#{node_count => member_count()}, mongoose_system_metrics_collect:collect()),
    Facts#{node => atom_to_binary(node())}.

own_identity() ->
    case mongoose_system_metrics_state:get(identity, undefined) of
        #{client_id := _, created_ms := _} = Identity -> [Identity];
        _ -> []
    end.

%% The identity made first; the id breaks a tie.
oldest([]) ->
    undefined;
oldest(Identities) ->
    [Oldest | _] = lists:sort(fun(#{created_ms := A, client_id := I}, #{created_ms := B, client_id := J}) ->
                                      {A, I} =< {B, J}
                              end, Identities),
    Oldest.
