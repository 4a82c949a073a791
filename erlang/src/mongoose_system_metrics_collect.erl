%% @doc The facts of this node, and what else the host says: its sources picked and run.
%%
%% `facts_source' in the application environment names the host source; with `auto', the
%% MongooseIM adapter when MongooseIM runs in this node. A source that crashes never stops
%% a cycle: its facts are left out and the failure is logged once.
-module(mongoose_system_metrics_collect).

-export([collect/0, host_source/0, host_client_id/0, host_cluster_nodes/0,
         host_google_analytics_url/0, host_says_configured/0]).

-include("mongoose_system_metrics_log.hrl").

-define(MONGOOSEIM_ADAPTER, mongoose_system_metrics_mongooseim).

%% @doc The facts of this node: the host source's, completed by the VM's. Under a host,
%% the VM adds only what it knows as well as the host (uptime, version): its guesses at
%% modules and listeners would be wrong where the host's facts failed.
-spec collect() -> mongoose_system_metrics_facts:facts().
collect() ->
    case host_source() of
        none ->
            guarded(mongoose_system_metrics_vm, fun mongoose_system_metrics_vm:facts/0);
        Source ->
            Host = guarded(Source, fun Source:facts/0),
            Skip = [modules, listeners | maps:keys(Host)],
            Vm = guarded(mongoose_system_metrics_vm, fun() -> mongoose_system_metrics_vm:facts(Skip) end),
            maps:merge(Vm, Host)
    end.

%% @doc The host source to use, or `none'.
-spec host_source() -> module() | none.
host_source() ->
    case application:get_env(mongoose_system_metrics, facts_source, auto) of
        auto -> available(?MONGOOSEIM_ADAPTER);
        Module when is_atom(Module) -> available(Module)
    end.

%% @doc The client id the host gives (MongooseIM's cluster id), or `undefined' when there
%% is none and the core keeps an id of its own.
-spec host_client_id() -> binary() | undefined.
host_client_id() ->
    host_call(client_id).

%% @doc The members of the host's cluster, or `undefined' when the host does not say
%% (then every connected node that runs the service counts as a member).
-spec host_cluster_nodes() -> [node()] | undefined.
host_cluster_nodes() ->
    host_call(cluster_nodes).

%% @doc The base URL the host's own configuration sends reports to, for when the
%% service's options name none (MongooseIM's test suites set one).
-spec host_google_analytics_url() -> string() | binary() | undefined.
host_google_analytics_url() ->
    host_call(google_analytics_url).

%% @doc Whether the host's configuration enables the service, or `unknown' without a
%% host that says.
-spec host_says_configured() -> boolean() | unknown.
host_says_configured() ->
    case host_source() of
        none -> unknown;
        Source -> try Source:service_configured() catch _:_ -> unknown end
    end.

%% An optional callback of the host source; `undefined' when absent or failing.
host_call(Function) ->
    case host_source() of
        none ->
            undefined;
        Source ->
            case erlang:function_exported(Source, Function, 0) of
                true -> try Source:Function() catch _:_ -> undefined end;
                false -> undefined
            end
    end.

available(Module) ->
    case code:ensure_loaded(Module) of
        {module, Module} ->
            case catch Module:available() of
                true -> Module;
                _ -> none
            end;
        _ ->
            none
    end.

%% A failing source gives no facts; the reason is logged once per source and reason,
%% without the facts themselves (they may hold private values).
guarded(Source, Get) ->
    try Get() of
        Facts when is_map(Facts) -> Facts;
        Other -> failed(Source, {bad_return, mongoose_system_metrics_notice:failure(Other)})
    catch
        Class:Reason -> failed(Source, {Class, mongoose_system_metrics_notice:failure(Reason)})
    end.

failed(Source, Why) ->
    ?MSM_LOG_ONCE(#{what => system_metrics_facts_failed, source => Source, reason => Why}),
    #{}.
