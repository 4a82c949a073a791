%% @doc The seam between the service and the node it runs in.
%%
%% A facts source is a module implementing this behaviour. A host source, such as the
%% MongooseIM adapter, gives what only the host knows; the VM source
%% (`mongoose_system_metrics_vm') fills in the facts the host did not give, from what any
%% BEAM node can show. A source that crashes never stops a cycle: its facts are left out
%% and the failure is logged once.
%%
%% The facts map (every key optional; see the core's `facts.rs'):
%% `uptime_ms', `version', `node_count', `host_types', `domain_count', `modules'
%% (`#{HostType => #{Module => Opts}}'), `listeners' (maps with `module', `proto',
%% `tls_mode', `tls_module', `handlers'), `outgoing_pools', `components', `config_file'.
-module(mongoose_system_metrics_facts).

-export([collect/0, gather/3, host_source/0, host_client_id/0, host_cluster_nodes/0,
         host_google_analytics_url/0, is_configured/0, mark_configured/1]).

-include("mongoose_system_metrics_log.hrl").

-define(MONGOOSEIM_ADAPTER, mongoose_system_metrics_mongooseim).

-type facts() :: #{uptime_ms => non_neg_integer(),
                   version => string() | binary(),
                   node_count => pos_integer(),
                   host_types => [term()],
                   domain_count => non_neg_integer(),
                   modules => #{term() => #{module() => term()}},
                   listeners => [listener()],
                   outgoing_pools => [atom()],
                   components => non_neg_integer(),
                   stanza_counts => #{atom() | binary() => non_neg_integer()},
                   config_file => string() | binary(),
                   node => binary()}.
-type listener() :: #{module => module() | undefined,
                      proto := tcp | udp,
                      tls_mode => tls | starttls | starttls_required | undefined,
                      tls_module => atom(),
                      handlers => [module()]}.
-type getter() :: {atom(), fun(() -> term())}.
-export_type([facts/0, listener/0, getter/0]).

%% Whether the source can run in this node (its host's modules are loaded).
-callback available() -> boolean().
%% The facts it can see.
-callback facts() -> facts().
%% Whether the host's configuration enables the service, or `unknown'.
-callback service_configured() -> boolean() | unknown.
%% The host's own id for the cluster, which reports then carry as their client id.
-callback client_id() -> binary() | undefined.
%% The members of the host's own cluster (its database's), this node included.
-callback cluster_nodes() -> [node()] | undefined.
%% Where the host's own configuration sends reports, as a base URL.
-callback google_analytics_url() -> string() | binary() | undefined.
-optional_callbacks([client_id/0, cluster_nodes/0, google_analytics_url/0]).

%% @doc The facts of this node: the host source's, completed by the VM's. Under a host,
%% the VM adds only what it knows as well as the host (uptime, version, node count): its
%% guesses at modules and listeners would be wrong where the host's facts failed.
-spec collect() -> facts().
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

%% @doc Runs each getter whose key is not in `Skip' and gathers the results into facts.
%% A getter that crashes, or answers `undefined', leaves its fact out; a crash is logged
%% once per source, fact and reason, never with the values (they may be private).
-spec gather(module(), [getter()], [atom()]) -> facts().
gather(Source, Getters, Skip) ->
    maps:from_list([{Key, Value} || {Key, Get} <- Getters,
                                    not lists:member(Key, Skip),
                                    Value <- [get_fact(Source, Key, Get)],
                                    Value =/= undefined]).

get_fact(Source, Key, Get) ->
    try
        Get()
    catch
        Class:Reason ->
            ?MSM_LOG_ONCE(#{what => system_metrics_fact_failed, source => Source, fact => Key,
                            reason => {Class, reason_summary(Reason)}}),
            undefined
    end.

%% @doc The host source to use: `facts_source' from the application environment; with
%% `auto', the MongooseIM adapter when MongooseIM runs in this node.
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

%% @doc Whether the service is configured on this node: the host's configuration says,
%% or else whether `service_mongoose_system_metrics:start/1' was called.
-spec is_configured() -> boolean().
is_configured() ->
    Host = case host_source() of
               none -> unknown;
               Source -> try Source:service_configured() catch _:_ -> unknown end
           end,
    case Host of
        unknown -> mongoose_system_metrics_state:get(service_configured, false);
        Known -> Known
    end.

%% @doc Remembers that the service was configured (started, even with `report = false').
-spec mark_configured(boolean()) -> ok.
mark_configured(Configured) ->
    mongoose_system_metrics_state:set(service_configured, Configured).

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
        Other -> failed(Source, {bad_return, type_of(Other)})
    catch
        Class:Reason -> failed(Source, {Class, reason_summary(Reason)})
    end.

failed(Source, Why) ->
    ?MSM_LOG_ONCE(#{what => system_metrics_facts_failed, source => Source, reason => Why}),
    #{}.

reason_summary(Reason) when is_atom(Reason) -> Reason;
reason_summary(Reason) when is_tuple(Reason), tuple_size(Reason) > 0, is_atom(element(1, Reason)) ->
    element(1, Reason);
reason_summary(Reason) -> type_of(Reason).

type_of(Term) when is_list(Term) -> list;
type_of(Term) when is_tuple(Term) -> tuple;
type_of(Term) when is_binary(Term) -> binary;
type_of(Term) when is_integer(Term) -> integer;
type_of(_) -> other.
