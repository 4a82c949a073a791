%% @doc What this node remembers while the application runs: whether the service was
%% configured, why it is off or was refused, and when the cluster last reported.
%%
%% An ETS table owned by the application's top supervisor, not the application
%% environment: writing the environment is a call to the application controller, which
%% MongooseIM keeps busy while it stops its own application, the moment it stops this
%% service. Reading and writing here never waits on another process.
-module(mongoose_system_metrics_state).

-export([create/0, get/2, set/2]).

-define(TABLE, mongoose_system_metrics_state).

-type key() :: service_configured | off_reason | refused_start | last_cluster_report | identity | running
             | {declares_gen_mod, module(), binary()}.

%% @doc Creates the table, owned by the caller (the top supervisor, in its `init/1').
-spec create() -> ok.
create() ->
    ?TABLE = ets:new(?TABLE, [named_table, public, set, {read_concurrency, true}]),
    ok.

%% @doc The value kept under `Key', or `Default' (also when the application is not running).
-spec get(key(), term()) -> term().
get(Key, Default) ->
    try ets:lookup(?TABLE, Key) of
        [{Key, Value}] -> Value;
        [] -> Default
    catch
        error:badarg -> Default
    end.

%% @doc Keeps `Value' under `Key'; does nothing when the application is not running.
-spec set(key(), term()) -> ok.
set(Key, Value) ->
    try ets:insert(?TABLE, {Key, Value}) of
        true -> ok
    catch
        error:badarg -> ok
    end.
