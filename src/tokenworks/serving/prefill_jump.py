"""Prefill jumps: the chunks of queued prompts, one after another, as one event.

Units: seconds, tokens, KV blocks. While one prompt ``X`` is being prefilled in chunks, the
next steps are certain as long as nothing new arrives: every step runs the decodes plus X's
next chunk (Sarathi-style, decode first), and a step whose chunk completes X and leaves token
budget over admits the queue head ``Y`` into that budget, exactly as ``scheduler.schedule``
would. So the planner below walks the same rules step by step on local copies of the
replica's counters (decoders, context sum, rounds, block residues, free blocks), chaining
prompt after prompt, and ends with the decode steps of the last completed prompt while the
queue is empty. Nothing is committed here: ``fastpath._jump_end`` applies the steps that ran
(admissions at their step's start, completions at their step's end) when the jump ends or is
cut by an arrival.

It covers only the configurations whose steps it reproduces exactly; everything else falls
back to ``schedule``: chunked prefill, ``decode_first``, FCFS order, co-located role, and
admissions without a prefix-cache lookup or tier load (no prefix hashes or no prefix cache).
"""

from __future__ import annotations

from tokenworks.serving.engine_state import ReplicaState
from tokenworks.serving.jump import PrefillPlan, PrefillStep
from tokenworks.serving.seq import Seq, SeqState

__all__ = ["MAX_PREFILL_STEPS", "plan_prefill"]

MAX_PREFILL_STEPS = 256  # NOTE: bound on one plan's length (a long queue takes a few jumps)


def _chainable(r: ReplicaState, seq: Seq) -> bool:
    """Can this queued sequence be admitted by the planner (no lookup, no load, no recording)?"""
    req = seq.req
    return (seq.state is SeqState.WAITING and (not req.prefix_hashes or
                                                r.config.prefix_cache == "none")
            and req.token_times_s is None)


def plan_prefill(r: ReplicaState, n: int, first: int | None, head_ready: bool,
                 first_finish_steps: int, tail_steps_fn) -> PrefillPlan | None:
    """Plan the certain steps from now: the chunks of the prompt being prefilled (or, with
    none, of the queue head admitted now) and of the prompts chained after it.

    ``n`` is the number of running decodes; ``first`` the chunk of a step ``schedule`` already
    formed (its blocks are taken); ``head_ready`` whether the queue head is admissible now;
    ``first_finish_steps`` bounds the plan at the first running decode's finish;
    ``tail_steps_fn(r, avail, n, r0, counts)`` is the number of decode steps the free blocks
    allow. None when fewer than two steps are certain.
    """
    cfg = r.config
    x = r.prefilling[0] if r.prefilling else None
    token_budget = cfg.max_num_batched_tokens
    bs = r.block_size
    chain = cfg.queue == "fcfs" and cfg.role == "both" and not r.swapped and not r.transferred
    queue = r.waiting if chain else ()
    no_cache = cfg.prefix_cache == "none"
    qi = 0
    counts = r.residue_count
    counts_copied = False
    rounds, ctx_sum = r.rounds, r.sum_prompt_minus_base
    avail = r.blocks.num_available_blocks
    watermark = r.watermark_blocks
    num_running, max_seqs = len(r.running), cfg.max_num_seqs
    limit = min(first_finish_steps, MAX_PREFILL_STEPS)
    steps: list[PrefillStep] = []
    need_cum: list[int] = []
    need = 0
    full = True
    admit_steps: list[int] = []
    cur: Seq | None = x
    computed, private, shared = (x.computed, x.private_blocks, x.shared_tokens) if x else (0, 0, 0)
    j = 0
    while j < limit and (cur is not None or not j):
        budget = token_budget - n
        if budget <= 0:
            break
        kv = ctx_sum + n * rounds
        admit = None
        if j == 0 and first is not None:  # formed by schedule(): its blocks are taken
            c = first
            prefills = [(cur, c, 0)]
            step_need = 0
            tokens, pairs, pkv = c, 0.0 + (c * computed + c * (c + 1) / 2), computed + c
            computed += c
            if budget > c:
                if head_ready:
                    return None  # schedule() left the head out: let it decide again
                full = False
        else:
            step_need = counts[rounds % bs] if n else 0
            if cur is not None and cur.target - computed > budget:
                # NOTE: the common middle step (a full-budget chunk, the prompt goes on) without
                # the completion and admission branches below; same arithmetic, for performance.
                cb = -(-(computed + budget - shared) // bs) - private
                if need + step_need + cb > avail:
                    break
                need += step_need + cb
                steps.append(([(cur, budget, cb)], None, None, n, kv, budget,
                              0.0 + (budget * computed + budget * (budget + 1) / 2),
                              computed + budget))
                need_cum.append(need)
                computed += budget
                private += cb
                if n:
                    rounds += 1
                j += 1
                continue
            if cur is not None:
                c = min(cur.target - computed, budget)
                cb = -(-(computed + c - shared) // bs) - private
                if need + step_need + cb > avail:
                    break  # the step-by-step scheduler would preempt here: stop before it
                step_need += cb
                prefills = [(cur, c, cb)]
                # Same arithmetic as StepPlan.add_chunk: c·p + c(c+1)/2 causal pairs.
                tokens, pairs, pkv = c, 0.0 + (c * computed + c * (c + 1) / 2), computed + c
                computed += c
                private += cb
                left = budget - c
            else:  # nothing being prefilled: the head is admitted into this step
                prefills = []
                tokens, pairs, pkv = 0, 0.0, 0
                left = budget
            if left > 0:  # the prompt completes here; the scheduler offers the rest to the head
                y = queue[qi] if qi < len(queue) else None
                if y is None:
                    if head_ready and not qi:
                        break  # a head the planner cannot admit (not FCFS, swapped, ...)
                    full = False  # empty queue: an arrival could join this step
                elif not _chainable(r, y):
                    if qi or head_ready:
                        break  # it may be admissible: leave this step to schedule()
                    full = False  # blocked head: stays blocked while memory only shrinks
                elif (num_running < max_seqs
                      and avail - need - step_need - -(-y.target // bs) >= watermark):
                    cy = min(y.target, left)
                    if cy == y.target:
                        break  # a prompt done in its first step: leave it to schedule()
                    cyb = -(-cy // bs)
                    step_need += cyb
                    prefills.append((y, cy, cyb))
                    pairs += cy * (cy + 1) / 2  # a fresh prompt: no cached keys
                    tokens += cy
                    pkv += cy
                    admit = y
                else:
                    full = False  # blocked head: stays blocked while memory only shrinks
        if cur is None:
            if admit is None:
                break  # the head does not fit after all: leave it to schedule()
            cur = admit
            computed, private, shared = prefills[-1][1], prefills[-1][2], 0
        # (a prompt admitted in this step cannot complete in it: see cy == y.target above)
        done = cur if computed == cur.target else None
        if done is not None:
            req = done.req
            if (cfg.role != "both" or req.num_output_done + 1 >= req.output_tokens
                    or (req.prefix_hashes and not no_cache)):
                # It leaves (finished, or handed to a decode pool) or registers its prefix
                # blocks, which may free duplicates: its completion ends the plan.
                if admit is not None:
                    break
                limit = j + 1
        need += step_need
        steps.append((prefills, admit, done, n, kv, tokens, pairs, pkv))
        need_cum.append(need)
        if n:
            rounds += 1
        j += 1
        if admit is not None:
            num_running += 1
            qi += 1
            admit_steps.append(j - 1)
        if done is None:
            continue
        cur = None
        if j >= limit:
            break
        # It joins the decodes after this step (ReplicaState.join_decode arithmetic).
        req = done.req
        d0 = req.num_output_done + 1
        base = rounds - d0
        if not counts_copied:
            counts, counts_copied = list(counts), True
        counts[(base + done.shared_tokens + 1 - req.prompt_tokens) % bs] += 1
        ctx_sum += req.prompt_tokens - base
        n += 1
        limit = min(limit, j + req.output_tokens - d0)
        if admit is not None:
            cur = admit
            computed, private, shared = prefills[-1][1], prefills[-1][2], 0
    if not steps:
        return None
    kd = 0
    queue_clear = (qi == len(queue)) if chain else not head_ready
    if cur is None and steps[-1][2] is not None and j < limit and queue_clear:
        kd = tail_steps_fn(r, avail - need, n, rounds, counts, limit - j)
    if len(steps) + kd < 2:
        return None
    if kd < 1:
        return PrefillPlan(steps, need_cum, full, admit_steps=tuple(admit_steps))
    return PrefillPlan(steps, need_cum, False, kd, n, rounds, ctx_sum + n * rounds,
                       counts if counts_copied else list(counts), tuple(admit_steps))
