%% @doc `mongoose_system_metrics_ctl install|uninstall RELEASE_ROOT': puts a built
%% mongoose_system_metrics application into a MongooseIM release, ahead of MongooseIM's own
%% service_mongoose_system_metrics, or takes it out again.
%%
%% A MongooseIM release ships its own service_mongoose_system_metrics. Its start script
%% passes -embedded (not `-mode embedded'), so the node loads code interactively and the
%% -pa directories of etc/vm.args come before the boot script's: that is how ours wins.
%% The application goes under the release's lib/ as mongoose_system_metrics-VSN/{ebin,priv}
%% so that code:priv_dir/1 finds the NIF, and one marked -pa line for its ebin is appended
%% to etc/vm.args; uninstall removes exactly what install added. Each change is made beside
%% its target and renamed into place, and undone if a later step fails.
%%
%% Nothing here prints or halts: each function returns what to tell the operator, and the
%% escript (priv/mongoose_system_metrics_ctl) prints it and picks the exit status. Other
%% errors than those described (a bug, a file system failing mid-way in an unforeseen
%% place) are raised, as the escript always let them.
-module(mongoose_system_metrics_install).

-export([install/2, uninstall/1]).

-ifdef(TEST).
-export([blocks/2, strip/2, appended/2, embedded_mode/1, our_dir/1, foreign_lines/3,
         vm_args_can_name/1]).
-endif.

-include_lib("kernel/include/file.hrl").

-define(SERVICE, service_mongoose_system_metrics).
-define(APP, "mongoose_system_metrics").
-define(CTL, "mongoose_system_metrics_ctl").
%% The comment line before our -pa line in etc/vm.args; uninstall finds our lines by it.
-define(MARKER, "## Added by mongoose_system_metrics_ctl install, removed by mongoose_system_metrics_ctl uninstall").
-define(MARKER_END, ".").
%% The file had no final newline: install added one before the marker, uninstall removes it.
-define(MARKER_END_NO_NEWLINE, " (the newline before this line too: the file ended without one).").

-type result() :: {ok, unicode:chardata()}
                | {error, refused | failed, unicode:chardata()}.
%% `{ok, Output}': done (or nothing to do), Output says what changed. `{error, refused,
%% Message}': nothing was changed, the operator has something to fix first (the escript
%% exits 2). `{error, failed, Message}': a change failed and what was done of it was undone
%% (exits 1). Texts are characters of the file name encoding, ending with a newline.
-export_type([result/0]).

%% @doc Installs the built application in `AppDir' (the directory holding its `ebin/' and
%% `priv/') into the MongooseIM release at `Root'.
-spec install(AppDir :: file:filename(), Root :: file:filename()) -> result().
install(AppDir, Root) ->
    act(fun() -> do_install(AppDir, Root) end).

%% @doc Removes from the MongooseIM release at `Root' what `install/2' added.
-spec uninstall(Root :: file:filename()) -> result().
uninstall(Root) ->
    act(fun() -> do_uninstall(Root) end).

act(Fun) ->
    try Fun() of
        Output -> {ok, Output}
    catch
        throw:{refused, Message} -> {error, refused, Message};
        throw:{failed, Message} -> {error, failed, [Message, "nothing was changed\n"]};
        throw:{failed_half_undone, Message, Left} ->
            {error, failed, [Message, "undoing it failed too; left as it is, to put right by hand:\n",
                             [["  ", L, "\n"] || L <- Left]]}
    end.

-spec refuse(io:format(), [term()]) -> no_return().
refuse(Format, Args) ->
    throw({refused, io_lib:format(Format ++ "~n", Args)}).

-spec failed(io:format(), [term()]) -> no_return().
failed(Format, Args) ->
    throw({failed, io_lib:format(Format ++ "~n", Args)}).

do_install(AppDir, Root0) ->
    #{vsn := Vsn, files := Files} = this_application(AppDir),
    Root = release(Root0),
    #{path := VmArgs, bytes := Bytes, lines := Lines} = Vm = vm_args(Root),
    embedded_mode(Bytes) andalso
        refuse("~ts has `-mode embedded': the node would load code only from its boot script, so "
               "MongooseIM's own service_mongoose_system_metrics would run, not this one; remove "
               "that line (MongooseIM's start script passes -embedded, which is not the same and "
               "is fine) and install again", [VmArgs]),
    Blocks = blocks(VmArgs, Lines),
    Name = ?APP "-" ++ Vsn,
    Lib = filename:join(Root, "lib"),
    Dest = filename:join(Lib, Name),
    Ebin = filename:join(Dest, "ebin"),
    vm_args_can_name(Ebin),
    Ours = lists:usort([N || #{name := N} <- Blocks]),
    Exists = exists(Dest),
    Exists andalso not lists:member(Name, Ours) andalso
        refuse("~ts exists but was not made by " ?CTL " install (~ts has no line of ours naming it); "
               "it is left as it is: move it away and install again", [Dest, VmArgs]),
    Pa = <<"-pa ", (unicode:characters_to_binary(Ebin, unicode, file:native_name_encoding()))/binary>>,
    Notes = foreign_lines(VmArgs, Lines, Blocks),
    Installed = case Blocks of
                    [#{pa := Pa}] -> Exists andalso same_tree(Dest, Files);
                    _ -> false
                end,
    case Installed of
        true ->
            [io_lib:format("already installed: nothing changed (~ts and its -pa line in ~ts hold this build "
                           "of mongoose_system_metrics ~ts)~n", [Dest, VmArgs, Vsn]) | Notes];
        false ->
            Old = [filename:join(Lib, N) || N <- Ours, exists(filename:join(Lib, N))],
            New = [strip(Lines, Blocks), appended(strip(Lines, Blocks), Pa)],
            Aside = replace(Lib, Name, Files, Vm, iolist_to_binary(New), Old),
            Left = [A || {_, A} <- Aside, remove_tree(A) =/= ok],
            [io_lib:format("installed mongoose_system_metrics ~ts into ~ts:~n"
                           "  created ~ts (ebin: ~b modules and the .app; priv: the NIF and " ?CTL ")~n"
                           "  added 2 lines at the end of ~ts: a comment saying they are ours, and~n"
                           "    ~ts~n",
                           [Vsn, Root, Dest, length([R || {R, _, _} <- Files, filename:extension(R) =:= ".beam"]),
                            VmArgs, "-pa " ++ Ebin]),
             [io_lib:format("  replaced ~ts (and its lines in ~ts)~n", [D, VmArgs]) || {D, _} <- Aside, D =/= Dest],
             [io_lib:format("  replaced the previous copy at ~ts~n", [Dest]) || {D, _} <- Aside, D =:= Dest],
             [io_lib:format("  could not remove the old copy moved aside to ~ts; remove it by hand~n", [A]) || A <- Left],
             Notes,
             restart(Root),
             "It runs when etc/mongooseim.toml has a [services.service_mongoose_system_metrics] section.\n",
             io_lib:format("To undo: ~ts uninstall ~ts~n", [filename:join([Dest, "priv", ?CTL]), Root])]
    end.

%% Builds the new copy beside its place, then: etc/vm.args, our old copies moved aside,
%% the new copy renamed into place. Etc/vm.args goes first so that an interruption leaves
%% at worst a -pa line naming a missing directory (ignored by erl), never a copy without
%% its marker, which install would then refuse as not ours. Returns what was moved aside.
replace(Lib, Name, Files, #{path := VmArgs, bytes := Bytes, info := Info}, New, Old) ->
    Tmp = new_tree(Lib, Name, Files),
    Dest = filename:join(Lib, Name),
    Asides = [{D, aside(D)} || D <- Old],
    steps([{fun() -> ok end, fun() -> remove_tree(Tmp) end},
           {fun() -> replace_file(VmArgs, New, Info) end, fun() -> replace_file(VmArgs, Bytes, Info) end}]
          ++ [{fun() -> rename(D, A) end, fun() -> rename(A, D) end} || {D, A} <- Asides]
          ++ [{fun() -> rename(Tmp, Dest) end, fun() -> rename(Dest, Tmp) end}]),
    Asides.

do_uninstall(Root0) ->
    Root = release(Root0),
    #{path := VmArgs, bytes := Bytes, lines := Lines, info := Info} = vm_args(Root),
    Blocks = blocks(VmArgs, Lines),
    Lib = filename:join(Root, "lib"),
    Notes = foreign_lines(VmArgs, Lines, Blocks),
    case Blocks of
        [] ->
            Strangers = filelib:wildcard(?APP "-*", Lib),
            [io_lib:format("nothing to uninstall: ~ts has no line added by " ?CTL " install; nothing changed~n",
                           [VmArgs]),
             [io_lib:format("note: ~ts was not made by " ?CTL " install; it is left as it is~n",
                            [filename:join(Lib, D)]) || D <- Strangers]
             | Notes];
        _ ->
            Dirs = [filename:join(Lib, N) || N <- lists:usort([N || #{name := N} <- Blocks])],
            {Ours, Others} = lists:partition(fun is_dir/1, Dirs),
            %% The copies go first: an interruption leaves at worst our lines naming a missing
            %% directory, which the next uninstall (or install) takes as ours.
            Asides = [{D, aside(D)} || D <- Ours],
            steps([{fun() -> rename(D, A) end, fun() -> rename(A, D) end} || {D, A} <- Asides]
                  ++ [{fun() -> replace_file(VmArgs, iolist_to_binary(strip(Lines, Blocks)), Info) end,
                       fun() -> replace_file(VmArgs, Bytes, Info) end}]),
            Left = [D || {D, A} <- Asides, remove_tree(A) =/= ok],
            [io_lib:format("uninstalled mongoose_system_metrics from ~ts:~n", [Root]),
             [io_lib:format("  removed ~ts~n", [D]) || {D, _} <- Asides, not lists:member(D, Left)],
             [io_lib:format("  could not remove ~ts after moving it aside; remove ~ts by hand~n", [D, A])
              || {D, A} <- Asides, lists:member(D, Left)],
             [case exists(D) of
                  true -> io_lib:format("  ~ts is not a directory, so not ours: left as it is~n", [D]);
                  false -> io_lib:format("  ~ts was already gone~n", [D])
              end || D <- Others],
             [io_lib:format("  removed from ~ts: lines ~b-~b (~ts)~n", [VmArgs, N, N + 1, Pa])
              || #{line := N, pa := Pa} <- Blocks],
             Notes,
             restart(Root)]
    end.

restart(Root) ->
    Bin = filename:join([Root, "bin", "mongooseim"]),
    io_lib:format("Stop and start the node for this to take effect: ~ts stop, then ~ts start "
                  "(etc/vm.args is read when the VM starts: a restart inside the running VM is not enough).~n",
                  [Bin, Bin]).

%% Runs {Do, Undo} steps in order; when one fails, undoes those done, last first. An undo
%% that fails too is said, so that nobody is told that nothing was changed.
steps(Steps) ->
    steps(Steps, []).

steps([], _Undos) ->
    ok;
steps([{Do, Undo} | Rest], Undos) ->
    try Do() of
        _ -> steps(Rest, [Undo | Undos])
    catch
        Class:Reason:Stack ->
            Left = [Why || U <- Undos, Why <- [undo(U)], Why =/= ok],
            case {Class, Reason, Left} of
                {_, _, []} -> erlang:raise(Class, Reason, Stack);
                {throw, {failed, Message}, _} -> throw({failed_half_undone, Message, Left});
                _ -> throw({failed_half_undone, io_lib:format("~0p~n", [Reason]), Left})
            end
    end.

undo(Undo) ->
    try Undo() of
        _ -> ok
    catch
        throw:{failed, Message} -> string:trim(Message, trailing, "\n");
        _:Reason -> io_lib:format("~0p", [Reason])
    end.

%% The application in Dir: its version and its files, exactly the application's modules
%% (a build's ebin may hold more), the .app, the NIF and the command.
this_application(Dir) ->
    Priv = filename:join(Dir, "priv"),
    AppFile = filename:join([Dir, "ebin", ?APP ".app"]),
    Hint = "run it from a built application: .../mongoose_system_metrics/priv/" ?CTL,
    Props = case file:consult(AppFile) of
                {ok, [{application, mongoose_system_metrics, P}]} when is_list(P) -> P;
                {ok, _} -> refuse("~ts does not describe the mongoose_system_metrics application; ~s", [AppFile, Hint]);
                {error, enoent} -> refuse("there is no built application beside this command (~ts is missing); ~s", [AppFile, Hint]);
                {error, Why} -> refuse("cannot read ~ts: ~ts; ~s", [AppFile, reason(Why), Hint])
            end,
    Vsn = proplists:get_value(vsn, Props),
    is_list(Vsn) andalso Vsn =/= [] andalso lists:all(fun vsn_char/1, Vsn) orelse
        refuse("~ts has a version that cannot name a directory: ~p", [AppFile, Vsn]),
    Modules = proplists:get_value(modules, Props, []),
    lists:member(?SERVICE, Modules) orelse refuse("~ts does not list ~s", [AppFile, ?SERVICE]),
    Ebin = [{"ebin/" ++ atom_to_list(M) ++ ".beam", 8#644} || M <- Modules] ++ [{"ebin/" ?APP ".app", 8#644}],
    Nifs = [{"priv/" ++ F, 8#755} || F <- filelib:wildcard("*.so", Priv)],
    Nifs =/= [] orelse refuse("~ts has no NIF library (*.so): build the application first", [Priv]),
    Files = Ebin ++ Nifs ++ [{"priv/" ?CTL, 8#755}],
    #{dir => Dir, vsn => Vsn, files => [{Rel, source(filename:join(Dir, Rel)), Mode} || {Rel, Mode} <- Files]}.

vsn_char(C) ->
    (C >= $a andalso C =< $z) orelse (C >= $A andalso C =< $Z) orelse (C >= $0 andalso C =< $9)
        orelse lists:member(C, "._+-").

%% Only regular files are copied; a link to one is read, a link to anything else refused.
source(Path) ->
    case file:read_file_info(Path) of
        {ok, #file_info{type = regular}} ->
            case file:read_file(Path) of
                {ok, Bytes} -> Bytes;
                {error, Why} -> refuse("cannot read ~ts: ~ts", [Path, reason(Why)])
            end;
        {ok, #file_info{type = Type}} ->
            refuse("~ts is not a regular file (it is a ~s); only regular files are installed", [Path, Type]);
        {error, Why} ->
            refuse("cannot read ~ts: ~ts", [Path, reason(Why)])
    end.

%% The release root, absolute, once it looks like a MongooseIM release.
release(Root0) ->
    Root = filename:join([P || P <- filename:split(filename:absname(Root0)), P =/= "."]),
    case file:read_file_info(Root) of
        {ok, #file_info{type = directory}} -> ok;
        {ok, _} -> refuse("~ts is not a directory: give the root directory of a MongooseIM release", [Root]);
        {error, enoent} -> refuse("~ts: no such directory: give the root directory of a MongooseIM release", [Root]);
        {error, Why} -> refuse("cannot read ~ts: ~ts", [Root, reason(Why)])
    end,
    Needed = [{"etc/vm.args", exists(filename:join([Root, "etc", "vm.args"]))},
              {"lib/mongooseim-*/ebin/ejabberd_app.beam", filelib:wildcard("lib/mongooseim-*/ebin/ejabberd_app.beam", Root) =/= []},
              {"releases/", is_dir(filename:join(Root, "releases"))}],
    case [What || {What, false} <- Needed] of
        [] -> Root;
        Missing -> refuse("~ts is not a MongooseIM release: it has no ~ts", [Root, lists:join(", no ", Missing)])
    end.

vm_args(Root) ->
    Path = filename:join([Root, "etc", "vm.args"]),
    case file:read_link_info(Path) of
        {ok, #file_info{type = regular} = Info} ->
            case file:read_file(Path) of
                {ok, Bytes} -> #{path => Path, info => Info, bytes => Bytes, lines => binary:split(Bytes, <<"\n">>, [global])};
                {error, Why} -> refuse("cannot read ~ts: ~ts", [Path, reason(Why)])
            end;
        {ok, #file_info{type = symlink}} ->
            refuse("~ts is a symbolic link (to ~ts); " ?CTL " writes only a regular file, never through a link: "
                   "add the lines by hand (see the operator guide) or make it a regular file", [Path, link_target(Path)]);
        {ok, #file_info{type = Type}} ->
            refuse("~ts is not a regular file (it is a ~s)", [Path, Type]);
        {error, Why} ->
            refuse("cannot read ~ts: ~ts", [Path, reason(Why)])
    end.

link_target(Path) ->
    case file:read_link_all(Path) of
        {ok, Target} -> Target;
        {error, _} -> "?"
    end.

%% erl reads an arguments file as words: a path with blanks, quotes, backslashes or # would
%% not come through as one.
vm_args_can_name(Path) ->
    lists:all(fun(C) -> C > $\s andalso not lists:member(C, "#\"'\\") end, Path) orelse
        refuse("cannot name ~ts in etc/vm.args: the path has a blank, a quote, a backslash or a #, "
               "which erl would not read as one word", [Path]).

embedded_mode(Bytes) ->
    Words = lists:append([string:lexemes(hd(binary:split(Line, <<"#">>)), " \t\r")
                          || Line <- binary:split(Bytes, <<"\n">>, [global])]),
    pair(Words).

pair([<<"-mode">>, <<"embedded">> | _]) -> true;
pair([_ | Rest]) -> pair(Rest);
pair([]) -> false.

%% Our blocks in etc/vm.args: the marker line (numbered from 1) and the -pa line after it.
blocks(Path, Lines) ->
    blocks(Path, Lines, 1, []).

blocks(Path, [Line | Rest], N, Acc) ->
    case string:prefix(Line, <<?MARKER>>) of
        nomatch ->
            blocks(Path, Rest, N + 1, Acc);
        End ->
            case Rest of
                [Pa | Rest1] ->
                    case our_dir(Pa) of
                        {ok, Name} ->
                            Block = #{line => N, name => Name, pa => Pa, no_newline => End =:= <<?MARKER_END_NO_NEWLINE>>},
                            blocks(Path, Rest1, N + 2, [Block | Acc]);
                        error ->
                            refuse_block(Path, N)
                    end;
                [] ->
                    refuse_block(Path, N)
            end
    end;
blocks(_Path, [], _N, Acc) ->
    lists:reverse(Acc).

-spec refuse_block(file:filename(), pos_integer()) -> no_return().
refuse_block(Path, N) ->
    refuse("~ts line ~b is a comment of " ?CTL " install, but the line after it is not its "
           "`-pa .../lib/mongoose_system_metrics-VSN/ebin'; nothing was changed: edit the file by hand "
           "(remove that comment, or put the -pa line back after it)", [Path, N]).

%% The lib directory our -pa line names, only ever by its name under this release's lib/.
our_dir(Line) ->
    case string:lexemes(Line, " \t\r") of
        [<<"-pa">>, Ebin] ->
            Name = filename:basename(filename:dirname(Ebin)),
            case {filename:basename(Ebin), Name} of
                {<<"ebin">>, <<?APP "-", Vsn/binary>>} when Vsn =/= <<>> ->
                    case lists:all(fun vsn_char/1, binary_to_list(Vsn)) of
                        true -> {ok, binary_to_list(Name)};
                        false -> error
                    end;
                _ ->
                    error
            end;
        _ ->
            error
    end.

%% Other lines naming the application: not ours, so left as they are, but worth a word.
foreign_lines(Path, Lines, Blocks) ->
    Ours = lists:append([[N, N + 1] || #{line := N} <- Blocks]),
    [io_lib:format("note: ~ts line ~b also names mongoose_system_metrics and was not added by install; "
                   "it is left as it is: ~ts~n", [Path, N, Line])
     || {N, Line} <- lists:zip(lists:seq(1, length(Lines)), Lines),
        not lists:member(N, Ours),
        binary:match(Line, <<?APP>>) =/= nomatch,
        string:prefix(string:trim(Line, leading), "#") =:= nomatch].

%% Etc/vm.args without our blocks, as it was before install added them.
strip(Lines, Blocks) ->
    Ours = lists:append([[N, N + 1] || #{line := N} <- Blocks]),
    Last = length(Lines),
    Kept = [L || {N, L} <- lists:zip(lists:seq(1, Last), Lines), not lists:member(N, Ours)],
    %% A block appended to a file without a final newline took that newline: give it back
    %% when nothing of the operator's came after the block since.
    Trailing = [B || #{line := N, no_newline := true} = B <- Blocks,
                     lists:all(fun(I) -> lists:member(I, Ours) orelse (I =:= Last andalso lists:last(Lines) =:= <<>>) end,
                               lists:seq(N + 2, Last))],
    Restored = case Trailing =/= [] andalso length(Kept) > 1 andalso lists:last(Kept) =:= <<>> of
                   true -> lists:droplast(Kept);
                   false -> Kept
               end,
    lists:join(<<"\n">>, Restored).

appended(Stripped, Pa) ->
    Text = iolist_to_binary(Stripped),
    case Text =/= <<>> andalso binary:last(Text) =/= $\n of
        true -> [<<"\n">>, <<?MARKER ?MARKER_END_NO_NEWLINE "\n">>, Pa, <<"\n">>];
        false -> [<<?MARKER ?MARKER_END "\n">>, Pa, <<"\n">>]
    end.

%% Whether Dir holds exactly Files, with their modes, and nothing else.
same_tree(Dir, Files) ->
    Dirs = lists:usort([filename:dirname(Rel) || {Rel, _, _} <- Files]),
    Expected = lists:sort([{".", directory, 8#755, none} | [{D, directory, 8#755, none} || D <- Dirs]]
                          ++ [{Rel, regular, Mode, Bytes} || {Rel, Bytes, Mode} <- Files]),
    try
        Expected =:= lists:sort(tree(Dir, "."))
    catch
        _:_ -> false
    end.

tree(Root, Rel) ->
    Path = filename:join(Root, Rel),
    case file:read_link_info(Path) of
        {ok, #file_info{type = directory, mode = Mode}} ->
            {ok, Names} = file:list_dir_all(Path),
            [{Rel, directory, Mode band 8#7777, none}
             | lists:append([tree(Root, child(Rel, N)) || N <- Names])];
        {ok, #file_info{type = regular, mode = Mode}} ->
            {ok, Bytes} = file:read_file(Path),
            [{Rel, regular, Mode band 8#7777, Bytes}];
        {ok, #file_info{type = Type}} ->
            [{Rel, Type, 0, none}]
    end.

child(".", Name) -> unicode:characters_to_list(Name);
child(Rel, Name) -> Rel ++ "/" ++ unicode:characters_to_list(Name).

%% A fresh copy of Files in a new directory of Lib, every file and directory created (never
%% opened through an existing name) with its mode.
new_tree(Lib, Name, Files) ->
    Tmp = filename:join(Lib, "." ++ Name ++ ".installing-" ++ unique()),
    make_dir(Tmp),
    try
        _ = [make_dir(filename:join(Tmp, D)) || D <- lists:usort([filename:dirname(Rel) || {Rel, _, _} <- Files])],
        _ = [write_new(filename:join(Tmp, Rel), Bytes, Mode) || {Rel, Bytes, Mode} <- Files],
        Tmp
    catch
        Class:Reason:Stack ->
            _ = remove_tree(Tmp),
            erlang:raise(Class, Reason, Stack)
    end.

unique() ->
    os:getpid() ++ "-" ++ integer_to_list(erlang:unique_integer([positive])).

aside(Dir) ->
    filename:join(filename:dirname(Dir), "." ++ filename:basename(Dir) ++ ".removing-" ++ unique()).

make_dir(Dir) ->
    case file:make_dir(Dir) of
        ok -> set_mode(Dir, 8#755);
        {error, Why} -> failed("cannot create ~ts: ~ts", [Dir, reason(Why)])
    end.

%% `exclusive' creates the file or fails: an existing name, a link included, is never used.
write_new(Path, Bytes, Mode) ->
    case file:open(Path, [write, exclusive, raw, binary]) of
        {ok, File} ->
            Written = file:write(File, Bytes),
            Synced = file:sync(File),
            Closed = file:close(File),
            case [E || {error, _} = E <- [Written, Synced, Closed]] of
                [] -> set_mode(Path, Mode);
                [{error, Why} | _] -> _ = file:delete(Path), failed("cannot write ~ts: ~ts", [Path, reason(Why)])
            end;
        {error, Why} ->
            failed("cannot create ~ts: ~ts", [Path, reason(Why)])
    end.

set_mode(Path, Mode) ->
    case file:change_mode(Path, Mode) of
        ok -> ok;
        {error, Why} -> failed("cannot set the mode of ~ts: ~ts", [Path, reason(Why)])
    end.

%% Replaces a file by a new one renamed over it, with the old one's mode and owner.
replace_file(Path, Bytes, #file_info{mode = Mode, uid = Uid, gid = Gid}) ->
    Tmp = filename:join(filename:dirname(Path), "." ++ filename:basename(Path) ++ "." ++ ?CTL "-" ++ unique()),
    write_new(Tmp, Bytes, Mode band 8#7777),
    try
        case file:read_link_info(Tmp) of
            {ok, #file_info{uid = Uid, gid = Gid}} -> ok;
            {ok, _} ->
                case file:change_owner(Tmp, Uid, Gid) of
                    ok -> set_mode(Tmp, Mode band 8#7777);
                    {error, Why} -> failed("cannot give ~ts the owner of ~ts: ~ts", [Tmp, Path, reason(Why)])
                end
        end,
        rename(Tmp, Path)
    catch
        Class:Reason:Stack ->
            _ = file:delete(Tmp),
            erlang:raise(Class, Reason, Stack)
    end.

rename(From, To) ->
    case file:rename(From, To) of
        ok -> ok;
        {error, Why} -> failed("cannot rename ~ts to ~ts: ~ts", [From, To, reason(Why)])
    end.

%% Removes a tree without following links: a link is removed, never what it points to.
remove_tree(Path) ->
    case file:read_link_info(Path) of
        {ok, #file_info{type = directory}} ->
            case file:list_dir_all(Path) of
                {ok, Names} ->
                    Results = [remove_tree(filename:join(Path, N)) || N <- Names],
                    case [E || {error, _} = E <- Results] of
                        [] -> file:del_dir(Path);
                        [E | _] -> E
                    end;
                Error ->
                    Error
            end;
        {ok, _} ->
            file:delete(Path);
        {error, enoent} ->
            ok;
        Error ->
            Error
    end.

exists(Path) ->
    element(1, file:read_link_info(Path)) =:= ok.

is_dir(Path) ->
    case file:read_link_info(Path) of
        {ok, #file_info{type = directory}} -> true;
        _ -> false
    end.

reason(Why) ->
    file:format_error(Why).
