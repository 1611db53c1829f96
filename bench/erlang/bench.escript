#!/usr/bin/env escript
%%! +S 1 +P 2000000
%% Erlang/OTP side of Rain's benchmarks: the same workloads, one per invocation.
%%   escript bench/erlang/bench.escript <name> quick|full
%% Prints one line {"bench":"erlang.<name>","value":N} on stdout (or "skip").
%% Runs on 1 scheduler (+S 1). Exits non-zero when a workload fails its check.
-mode(compile).

main([Name, Size]) ->
    Quick = Size =:= "quick",
    case run(Name, Quick) of
        skip -> io:format("skip~n");
        V -> io:format("{\"bench\":\"erlang.~s\",\"value\":~p}~n", [Name, V])
    end;
main(_) ->
    io:format(standard_error, "usage: bench.escript <name> quick|full~n", []),
    halt(2).

n(true, Q, _) -> Q;
n(false, _, F) -> F.

now_us() -> erlang:monotonic_time(microsecond).

idle() -> receive stop -> ok end.

check(true, _) -> ok;
check(false, What) ->
    io:format(standard_error, "check failed: ~s~n", [What]),
    halt(1).

spawn_n(N) -> [spawn(fun idle/0) || _ <- lists:seq(1, N)].
stop_all(Ps) -> [P ! stop || P <- Ps], ok.

run("spawn.us_per_process", Q) ->
    N = n(Q, 20000, 100000),
    stop_all(spawn_n(1000)),
    T0 = now_us(), Ps = spawn_n(N), T1 = now_us(),
    check(length(Ps) =:= N, "spawned"),
    stop_all(Ps),
    (T1 - T0) / N;
run("spawn.bytes_per_process", Q) ->
    N = n(Q, 20000, 100000),
    erlang:garbage_collect(),
    M0 = erlang:memory(processes),
    Ps = spawn_n(N),
    timer:sleep(100),
    M1 = erlang:memory(processes),
    stop_all(Ps),
    (M1 - M0) / N;
run("spawn.1m.seconds", Q) ->
    N = n(Q, 200000, 1000000),
    T0 = now_us(), Ps = spawn_n(N), T1 = now_us(),
    check(length(Ps) =:= N, "spawned"),
    stop_all(Ps),
    (T1 - T0) / 1.0e6;
run("local.oneway.msgs_per_s", Q) -> flow(1, n(Q, 200000, 1000000));
run("local.fanin.msgs_per_s", Q) -> flow(100, n(Q, 200000, 1000000));
run("local.pingpong.rt_per_s", Q) ->
    N = n(Q, 50000, 200000),
    Pong = spawn(fun pong/0),
    T0 = now_us(),
    ping(Pong, 0, N),
    T1 = now_us(),
    Pong ! stop,
    N / ((T1 - T0) / 1.0e6);
run("local.call.per_s", Q) ->
    N = n(Q, 50000, 200000),
    {ok, S} = gen_server:start(bench_srv_mod(), 0, []),
    T0 = now_us(),
    call_loop(S, 0, N),
    T1 = now_us(),
    check(gen_server:call(S, get) =:= N, "server count"),
    N / ((T1 - T0) / 1.0e6);
run("supervisor.restart.us", Q) ->
    Rounds = n(Q, 200, 1000),
    load_sup_mods(),
    {ok, Sup} = supervisor:start_link(bench_sup, {one_for_one, Rounds + 10}),
    Samples = [restart_once() || _ <- lists:seq(1, Rounds)],
    check(proplists:get_value(active, supervisor:count_children(Sup)) =:= 1, "one child"),
    unlink(Sup), exit(Sup, shutdown),
    lists:nth(length(Samples) div 2 + 1, lists:sort(Samples));
run("supervisor.start10k.ms", Q) ->
    N = n(Q, 2000, 10000),
    load_sup_mods(),
    T0 = now_us(),
    {ok, Sup} = supervisor:start_link(bench_sup, simple),
    [{ok, _} = supervisor:start_child(Sup, []) || _ <- lists:seq(1, N)],
    T1 = now_us(),
    check(proplists:get_value(active, supervisor:count_children(Sup)) =:= N, "children"),
    unlink(Sup), exit(Sup, shutdown),
    (T1 - T0) / 1000 * (10000 / N);
run("remote." ++ _, _) -> skip_note("remote.* (two distributed nodes: not written yet)");
run(Other, _) ->
    io:format(standard_error, "unknown workload ~s~n", [Other]),
    halt(2).

skip_note(What) ->
    io:format(standard_error, "erlang: ~s skipped~n", [What]),
    skip.

%% N messages in total from S senders to one receiver; the receiver checks each
%% sender's sequence numbers arrive in order and counts all of them.
flow(S, Total) ->
    Per = Total div S,
    Self = self(),
    Sink = spawn(fun() -> sink(#{}, S * Per, Self) end),
    T0 = now_us(),
    [spawn(fun() -> send_seq(Sink, I, 1, Per) end) || I <- lists:seq(1, S)],
    receive {done, Got} -> ok after 60000 -> Got = timeout end,
    T1 = now_us(),
    check(Got =:= S * Per, "all messages received in order"),
    (S * Per) / ((T1 - T0) / 1.0e6).

send_seq(_, _, I, N) when I > N -> ok;
send_seq(Sink, Id, I, N) -> Sink ! {Id, I}, send_seq(Sink, Id, I + 1, N).

sink(_, 0, Parent) -> Parent ! {done, 0};
sink(Seen, Left, Parent) -> sink(Seen, Left, Parent, 0).
sink(_, 0, Parent, Count) -> Parent ! {done, Count};
sink(Seen, Left, Parent, Count) ->
    receive
        {Id, I} ->
            Prev = maps:get(Id, Seen, 0),
            case I =:= Prev + 1 of
                true -> sink(Seen#{Id => I}, Left - 1, Parent, Count + 1);
                false -> Parent ! {done, out_of_order}
            end
    end.

pong() ->
    receive
        {ping, From, I} -> From ! {pong, I}, pong();
        stop -> ok
    end.

ping(_, N, N) -> ok;
ping(Pong, I, N) ->
    Pong ! {ping, self(), I},
    receive {pong, I} -> ping(Pong, I + 1, N) end.

call_loop(_, N, N) -> ok;
call_loop(S, I, N) ->
    R = gen_server:call(S, inc),
    check(R =:= I + 1, "call reply"),
    call_loop(S, I + 1, N).

%% Crash a supervised child; time until its replacement answers a call.
restart_once() ->
    Old = whereis(bench_child),
    T0 = now_us(),
    Old ! crash,
    wait_new(Old),
    now_us() - T0.

wait_new(Old) ->
    case whereis(bench_child) of
        New when is_pid(New), New =/= Old ->
            case catch gen_server:call(New, ping) of
                pong -> ok;
                _ -> wait_new(Old)
            end;
        _ -> erlang:yield(), wait_new(Old)
    end.

%% Supervisor and child callback modules, built at run time like bench_srv.
load_sup_mods() ->
    logger:set_primary_config(level, none),
    load_mod(bench_child, [
        "-module(bench_child).",
        "-behaviour(gen_server).",
        "-export([start_link/1, init/1, handle_call/3, handle_cast/2, handle_info/2]).",
        "start_link(named) -> gen_server:start_link({local, bench_child}, bench_child, [], []); "
        "start_link(anon) -> gen_server:start_link(bench_child, [], []).",
        "init([]) -> {ok, 0}.",
        "handle_call(ping, _, S) -> {reply, pong, S}.",
        "handle_cast(_, S) -> {noreply, S}.",
        "handle_info(crash, S) -> {stop, crashed, S}."
    ]),
    load_mod(bench_sup, [
        "-module(bench_sup).",
        "-behaviour(supervisor).",
        "-export([init/1]).",
        "init({one_for_one, MaxR}) -> {ok, {#{strategy => one_for_one, intensity => MaxR, period => 3600}, "
        "[#{id => child, start => {bench_child, start_link, [named]}}]}}; "
        "init(simple) -> {ok, {#{strategy => simple_one_for_one, intensity => 1, period => 5}, "
        "[#{id => c, start => {bench_child, start_link, [anon]}}]}}."
    ]).

load_mod(Name, Src) ->
    case code:is_loaded(Name) of
        {file, _} -> ok;
        false ->
            Forms = [begin {ok, T, _} = erl_scan:string(L), {ok, F} = erl_parse:parse_form(T), F end || L <- Src],
            {ok, Mod, Bin} = compile:forms(Forms),
            {module, Mod} = code:load_binary(Mod, atom_to_list(Name) ++ ".erl", Bin),
            ok
    end.

%% A gen_server callback module built at run time (escripts cannot define one).
bench_srv_mod() ->
    case code:is_loaded(bench_srv) of
        {file, _} -> bench_srv;
        false ->
            Src = [
                "-module(bench_srv).",
                "-behaviour(gen_server).",
                "-export([init/1, handle_call/3, handle_cast/2]).",
                "init(N) -> {ok, N}.",
                "handle_call(inc, _, N) -> {reply, N + 1, N + 1}; handle_call(get, _, N) -> {reply, N, N}.",
                "handle_cast(_, N) -> {noreply, N}."
            ],
            Forms = [begin {ok, T, _} = erl_scan:string(L), {ok, F} = erl_parse:parse_form(T), F end || L <- Src],
            {ok, Mod, Bin} = compile:forms(Forms),
            {module, Mod} = code:load_binary(Mod, "bench_srv.erl", Bin),
            Mod
    end.
