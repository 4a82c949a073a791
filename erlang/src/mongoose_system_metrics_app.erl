%% @private
%% @doc The OTP application: only the supervisor. The service itself is started by
%% `service_mongoose_system_metrics:start/1', as MongooseIM starts its services.
-module(mongoose_system_metrics_app).
-behaviour(application).

-export([start/2, stop/1]).

-spec start(application:start_type(), term()) -> {ok, pid()} | {error, term()}.
start(_Type, _Args) ->
    mongoose_system_metrics_sup:start_link().

-spec stop(term()) -> ok.
stop(_State) ->
    ok.
