%% @doc A small strict JSON decoder for the tests (OTP 25 has none): objects become maps
%% with binary keys, arrays lists, strings binaries, numbers integers or floats, and
%% true/false/null atoms. Independent of the Rust encoder it checks. `encode/1' writes
%% the same shapes back, for files the tests hand to other programs.
-module(msm_json).
-export([decode/1, encode/1]).

%% @doc JSON text of maps (binary, atom or string keys), lists, binaries and strings as
%% strings, integers, floats and true/false/null.
-spec encode(term()) -> binary().
encode(Term) ->
    iolist_to_binary(encoded(Term)).

encoded(Map) when is_map(Map) ->
    Pairs = [[encoded(key_text(K)), $:, encoded(V)] || {K, V} <- lists:sort(maps:to_list(Map))],
    [${, lists:join($,, Pairs), $}];
encoded(List) when is_list(List) ->
    [$[, lists:join($,, [encoded(E) || E <- List]), $]];
encoded(Atom) when Atom =:= true; Atom =:= false; Atom =:= null ->
    atom_to_binary(Atom);
encoded(Integer) when is_integer(Integer) ->
    integer_to_binary(Integer);
encoded(Float) when is_float(Float) ->
    float_to_binary(Float, [short]);
encoded(Text) when is_binary(Text) ->
    [$", [escaped(C) || <<C/utf8>> <= Text], $"].

key_text(K) when is_atom(K) -> atom_to_binary(K);
key_text(K) when is_list(K) -> unicode:characters_to_binary(K);
key_text(K) when is_binary(K) -> K.

escaped($") -> <<"\\\"">>;
escaped($\\) -> <<"\\\\">>;
escaped(C) when C < 16#20 -> io_lib:format("\\u~4.16.0b", [C]);
escaped(C) -> <<C/utf8>>.

-spec decode(iodata()) -> term().
decode(Data) ->
    {Value, Rest} = value(skip(iolist_to_binary(Data))),
    <<>> = skip(Rest),
    Value.

value(<<${, R/binary>>) -> object(skip(R), #{});
value(<<$[, R/binary>>) -> array(skip(R), []);
value(<<$", R/binary>>) -> string(R, <<>>);
value(<<"true", R/binary>>) -> {true, R};
value(<<"false", R/binary>>) -> {false, R};
value(<<"null", R/binary>>) -> {null, R};
value(<<C, _/binary>> = R) when C =:= $-; C >= $0, C =< $9 -> number(R).

object(<<$}, R/binary>>, Acc) when map_size(Acc) =:= 0 -> {Acc, R};
object(<<$", R0/binary>>, Acc) ->
    {Key, R1} = string(R0, <<>>),
    <<$:, R2/binary>> = skip(R1),
    {Value, R3} = value(skip(R2)),
    false = maps:is_key(Key, Acc),
    case skip(R3) of
        <<$,, R4/binary>> -> object(skip(R4), Acc#{Key => Value});
        <<$}, R4/binary>> -> {Acc#{Key => Value}, R4}
    end.

array(<<$], R/binary>>, []) -> {[], R};
array(R0, Acc) ->
    {Value, R1} = value(R0),
    case skip(R1) of
        <<$,, R2/binary>> -> array(skip(R2), [Value | Acc]);
        <<$], R2/binary>> -> {lists:reverse([Value | Acc]), R2}
    end.

string(<<$", R/binary>>, Acc) -> {Acc, R};
string(<<$\\, $u, H:4/binary, R/binary>>, Acc) ->
    case binary_to_integer(H, 16) of
        High when High >= 16#D800, High =< 16#DBFF ->
            <<$\\, $u, L:4/binary, R2/binary>> = R,
            Low = binary_to_integer(L, 16),
            Code = 16#10000 + ((High - 16#D800) bsl 10) + (Low - 16#DC00),
            string(R2, <<Acc/binary, Code/utf8>>);
        Code ->
            string(R, <<Acc/binary, Code/utf8>>)
    end;
string(<<$\\, C, R/binary>>, Acc) ->
    Char = case C of
               $" -> $"; $\\ -> $\\; $/ -> $/; $b -> $\b;
               $f -> $\f; $n -> $\n; $r -> $\r; $t -> $\t
           end,
    string(R, <<Acc/binary, Char>>);
string(<<C, R/binary>>, Acc) when C >= 16#20 -> string(R, <<Acc/binary, C>>).

number(R) ->
    {Text, Rest} = lists:splitwith(fun(C) -> lists:member(C, "+-0123456789.eE") end, binary_to_list(R)),
    Value = case lists:any(fun(C) -> lists:member(C, ".eE") end, Text) of
                true -> list_to_float(float_text(Text));
                false -> list_to_integer(Text)
            end,
    {Value, list_to_binary(Rest)}.

%% Erlang wants digits on both sides of the point: "1e5" -> "1.0e5".
float_text(Text) ->
    case lists:member($., Text) of
        true -> Text;
        false ->
            {Mantissa, Exponent} = lists:splitwith(fun(C) -> C =/= $e andalso C =/= $E end, Text),
            Mantissa ++ ".0" ++ Exponent
    end.

skip(<<C, R/binary>>) when C =:= $\s; C =:= $\t; C =:= $\n; C =:= $\r -> skip(R);
skip(R) -> R.
