%% @private
%% @doc Supervises the one `service_mongoose_system_metrics' process. A crashed service is
%% restarted (the original never was); a service that keeps crashing gives up after
%% a few tries instead of looping.
-module(mongoose_system_metrics_sup).
-behaviour(supervisor).

-export([start_link/0, start_service/1, stop_service/1]).
-export([init/1]).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

%% @doc Starts the service process with the configuration the core accepted.
-spec start_service(map()) -> supervisor:startchild_ret().
start_service(Started) ->
    supervisor:start_child(?MODULE, [Started]).

-spec stop_service(pid()) -> ok | {error, not_found}.
stop_service(Pid) ->
    supervisor:terminate_child(?MODULE, Pid).

-spec init([]) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init([]) ->
    Flags = #{strategy => simple_one_for_one, intensity => 3, period => 60},
    Service = #{id => service_mongoose_system_metrics,
                start => {service_mongoose_system_metrics, start_link, []},
                restart => transient,
                shutdown => 5000,
                type => worker,
                modules => [service_mongoose_system_metrics]},
    {ok, {Flags, [Service]}}.
