%% @private
%% @doc Supervises the one `service_mongoose_system_metrics' process. A crashed service is
%% restarted (the original never was); a service that keeps crashing gives up after
%% a few tries instead of looping.
-module(mongoose_system_metrics_service_sup).
-behaviour(supervisor).

-export([start_link/0, start_service/2, stop_service/1, services/0]).
-export([init/1]).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

%% @doc Starts the service process with the configuration the core accepted.
-spec start_service(service_mongoose_system_metrics_nif:configuration(),
                    service_mongoose_system_metrics_nif:started()) -> supervisor:startchild_ret().
start_service(Configuration, Started) ->
    supervisor:start_child(?MODULE, [Configuration, Started]).

-spec stop_service(pid()) -> ok | {error, not_found}.
stop_service(Pid) ->
    supervisor:terminate_child(?MODULE, Pid).

%% @doc The running service processes (one at most). Asking the supervisor waits for a
%% restart in progress, so a stop never misses a service being restarted.
-spec services() -> [pid()].
services() ->
    try supervisor:which_children(?MODULE) of
        Children -> [Pid || {_, Pid, _, _} <- Children, is_pid(Pid)]
    catch
        exit:{noproc, _} -> []
    end.

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
