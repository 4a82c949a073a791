%% @private
%% @doc The application's top supervisor: the owner of the node's small state table
%% (`mongoose_system_metrics_state'), the process group scope through which the services
%% of a cluster find each other, and the supervisor of the service itself.
-module(mongoose_system_metrics_sup).
-behaviour(supervisor).

-export([start_link/0]).
-export([init/1]).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

-spec init([]) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init([]) ->
    ok = mongoose_system_metrics_state:create(),
    Flags = #{strategy => rest_for_one, intensity => 3, period => 60},
    Scope = #{id => mongoose_system_metrics_cluster,
              start => {pg, start_link, [mongoose_system_metrics_cluster:scope()]},
              type => worker},
    Services = #{id => mongoose_system_metrics_service_sup,
                 start => {mongoose_system_metrics_service_sup, start_link, []},
                 type => supervisor},
    {ok, {Flags, [Scope, Services]}}.
