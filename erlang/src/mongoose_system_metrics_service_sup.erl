%% @private
%% @doc Supervises the one `service_mongoose_system_metrics' process. A crashed service is
%% restarted (the original never was). When the service keeps crashing this supervisor
%% gives up, and its own supervisor starts it again: it then starts the service it ran,
%% from the configuration kept in the node's state table, so that reporting stops only
%% by `stop/0' (or with the whole application, which logs why).
-module(mongoose_system_metrics_service_sup).
-behaviour(supervisor).

-export([start_link/0, start_service/2, stop_service/1, services/0]).
-export([init/1]).

-include("mongoose_system_metrics_log.hrl").

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    case supervisor:start_link({local, ?MODULE}, ?MODULE, []) of
        {ok, Pid} ->
            restore(),
            {ok, Pid};
        Error ->
            Error
    end.

%% @doc Starts the service process with the configuration the core accepted, and keeps
%% that configuration (an opaque reference: no secret) to start it again if needed.
-spec start_service(mongoose_system_metrics_core:configuration(),
                    mongoose_system_metrics_core:started()) -> supervisor:startchild_ret().
start_service(Configuration, Started) ->
    case supervisor:start_child(?MODULE, [Configuration, Started]) of
        {ok, Pid} ->
            mongoose_system_metrics_state:set(running, {Configuration, Started}),
            {ok, Pid};
        Other ->
            Other
    end.

-spec stop_service(pid()) -> ok | {error, not_found}.
stop_service(Pid) ->
    mongoose_system_metrics_state:set(running, none),
    supervisor:terminate_child(?MODULE, Pid).

%% A restarted supervisor starts the service it ran before, unless stop/0 ended it.
restore() ->
    case mongoose_system_metrics_state:get(running, none) of
        {Configuration, Started} ->
            case start_again(Configuration, Started) of
                {ok, _} ->
                    ?MSM_LOG(warning, #{what => system_metrics_service_restored,
                                        text => <<"the service kept failing and was started again">>});
                {error, Why} ->
                    mongoose_system_metrics_state:set(off_reason, iolist_to_binary(
                        io_lib:format("the service could not be started again after failing: ~0p", [Why]))),
                    ?MSM_LOG(error, #{what => system_metrics_service_lost, reason => Why})
            end;
        none ->
            ok
    end.

%% The service of the supervisor that died may still be ending (it traps exits and holds
%% its registered name until it has): wait for it, then start.
start_again(Configuration, Started) ->
    case supervisor:start_child(?MODULE, [Configuration, Started]) of
        {error, {already_started, Old}} ->
            Ref = erlang:monitor(process, Old),
            receive
                {'DOWN', Ref, process, Old, _} -> supervisor:start_child(?MODULE, [Configuration, Started])
            after 5000 ->
                erlang:demonitor(Ref, [flush]),
                {error, {already_started, Old}}
            end;
        Other ->
            Other
    end.

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
