/* push_stream.c — a streaming subscriber in the stream loop (see
 * push_stream.h). */
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

#include "core/push_stream.h"

/* What the socket is watched for: a client that sends (a WebSocket) is
 * read; otherwise only its hang-up counts (what an event stream's client
 * sends is not one).  Room to write while bytes wait. */
static uint32_t stream_events(const push_stream_t *st)
{
    int pending = st->sink->pending(st->sink) != 0;
    uint32_t ev = EPOLLRDHUP;

    /* A client that does not take what it is sent is not read either:
     * what it would publish (or ping) waits in its own socket, and TCP
     * slows it down, instead of the loop queueing for it or the channel
     * running away from its other subscribers. */
    if ((st->sub->t->flags & PUSH_T_READS) && !pending) {
        ev |= EPOLLIN;
    }
    return pending ? ev | EPOLLOUT : ev;
}

/* Ends the stream; a write that failed on the way says the client went
 * away, whatever the caller was about to do. */
static void end(push_stream_t *st, push_ended_e how)
{
    push_loop_end(st->it, st->sink->gone ? PUSH_ENDED_CLIENT : how);
}

/* Bytes the kernel still holds unsent for the client: a slow reader's
 * shrink between two looks although no room shows yet (the socket is
 * writable again only once much of a large send buffer has gone). */
static int64_t unsent_in_socket(const push_stream_t *st)
{
    int n;

    return ioctl(st->it->fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

static int fixed_pings(const push_stream_t *st)
{
    return (st->sub->t->flags & PUSH_T_PING_FIXED) && st->ping_every > 0;
}

/* The channel's hold follows where the stream is, and whether its
 * socket takes what it is sent (its pace); a look that changed neither
 * (a WebSocket's pong read, a wake-up with nothing new) tells it
 * nothing.  A multiplexed stream's channels are each told (their
 * positions are their members'). */
static void moved(push_stream_t *st)
{
    int pending = st->sink->pending(st->sink) != 0;

    if (st->it->members || st->sub->pos != st->told_pos
        || st->sub->chan_pos != st->told_chan_pos
        || pending != st->told_pending) {
        st->told_pos = st->sub->pos;
        st->told_chan_pos = st->sub->chan_pos;
        st->told_pending = pending;
        push_loop_moved(st->it);
    }
}

/* The item's deadline: the keep-alive ping's, or while output waits,
 * the write timeout's (a ping would only queue behind it).  The closing
 * handshake keeps its own. */
static void stall_watch(push_stream_t *st)
{
    int pending = st->sink->pending(st->sink) != 0;
    int64_t now;

    if (st->closing || pending == (st->stalled_since != 0)) {
        return;
    }
    /* Whether it takes what it is sent is its channel's pace. */
    moved(st);
    now = push_now();
    if (pending) {
        st->stalled_since = now;
        st->unsent_seen = unsent_in_socket(st);
        /* A transport that pings on a fixed schedule keeps it (its
         * unanswered ping ends a client that stopped reading sooner). */
        if (st->write_timeout && !(fixed_pings(st)
                                   && st->ping_every < st->write_timeout)) {
            push_loop_timer(st->it, st->write_timeout, now);
        }
        return;
    }
    st->stalled_since = 0;
    if (st->write_timeout && !fixed_pings(st)) {
        if (st->ping_every) {
            push_loop_timer(st->it, st->ping_every, now);
        }
        else {
            push_loop_untimed(st->it);
        }
    }
}

/* After anything that may have written: a failed write ended the client;
 * otherwise the socket is watched for what the stream waits for now. */
static void settle(push_stream_t *st)
{
    uint32_t want;

    if (st->it->ended) {
        return;
    }
    if (st->sink->gone) {
        end(st, PUSH_ENDED_CLIENT);
        return;
    }
    stall_watch(st);
    want = stream_events(st);
    if (want != st->it->events && push_loop_watch(st->it, want) != 0) {
        end(st, PUSH_ENDED_CLIENT);
        return;
    }
    /* Input the socket no longer shows is read on the loop's next turn,
     * as if the socket were readable. */
    if ((want & EPOLLIN) && st->read_more) {
        push_loop_ready(st->it);
    }
}

/* No more messages (channel deleted, server stopping): the transport says
 * so; a closing handshake is awaited a little. */
static void stop(push_stream_t *st, push_stop_e why)
{
    push_loop_unfollow(st->it);
    push_loop_unexpire(st->it);
    if (st->sub->t->on_end(st->sub, why) == PUSH_END_AWAIT_CLOSE) {
        st->closing = 1;
        push_loop_timer(st->it, PUSH_CLOSE_WAIT_USEC, push_now());
    }
    else if (!st->sink->gone) {
        end(st, PUSH_ENDED_SERVER);
    }
    settle(st);
}

/* Everything the store has for the stream, as long as the socket takes
 * it. */
static void deliver(push_stream_t *st)
{
    push_deliver_e d;
    unsigned long before = st->sub->delivered;

    if (st->closing || !st->it->chan || st->it->ended) {
        return;
    }
    d = push_sub_deliver(st->sub, push_now());
    moved(st);
    if (st->idle_limit && st->sub->delivered != before) {
        push_loop_expiry(st->it, st->idle_limit, push_now());
    }
    switch (d) {
    case PUSH_DELIVER_GONE:
        stop(st, PUSH_STOP_DELETED);
        return;
    case PUSH_DELIVER_GAP:
        stop(st, PUSH_STOP_GAP);
        return;
    case PUSH_DELIVER_FAILED:
        end(st, PUSH_ENDED_SERVER);
        return;
    default:
        settle(st);
        return;
    }
}

/* A write went out: a keep-alive is one interval away again (a
 * transport that pings on a fixed schedule keeps it). */
static void wrote(void *baton)
{
    push_stream_t *st = baton;

    if (!(st->sub->t->flags & PUSH_T_PING_FIXED)) {
        push_loop_touch(st->it, push_now());
    }
}

void push_stream_init(push_stream_t *st, push_sub_t *sub,
                      push_loop_item_t *it, int chunked, int64_t ping_every,
                      int64_t write_timeout)
{
    st->sub = sub;
    st->it = it;
    push_socket_sink_init(&st->out, it->fd, chunked,
                          PUSH_STREAM_PENDING_MAX);
    st->out.sink.on_write = wrote;
    st->out.sink.baton = st;
    push_socket_source_init(&st->in, it->fd);
    st->sink = &st->out.sink;
    st->source = &st->in.source;
    st->read_more = 0;
    st->ping_every = ping_every;
    st->write_timeout = write_timeout;
    st->stalled_since = 0;
    st->closing = 0;
    st->idle_limit = 0;
    st->told_pos = st->told_chan_pos = UINT64_MAX;
    st->told_pending = -1;
    sub->sink = &st->out.sink;
    it->sub = sub;
}

void push_stream_use(push_stream_t *st, push_sink_t *sink,
                     push_source_t *source)
{
    sink->on_write = wrote;
    sink->baton = st;
    st->sink = sink;
    st->source = source;
    st->sub->sink = sink;
    /* What came with the handshake may wait above the socket already. */
    st->read_more = source->hides_input;
}

int push_stream_start(push_stream_t *st)
{
    if (push_loop_follow(st->it, st->sub) != 0
        || push_loop_watch(st->it, stream_events(st)) != 0) {
        return -1;
    }
    push_loop_timer(st->it, st->ping_every, push_now());
    push_loop_expiry(st->it, st->idle_limit, push_now());
    /* Whatever came in since the handler last looked. */
    deliver(st);
    return 0;
}

void push_stream_io(push_stream_t *st, uint32_t events)
{
    int hangup = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;

    if ((events & EPOLLOUT) && st->sink->pending(st->sink)) {
        size_t before = st->sink->pending(st->sink);
        push_sink_rc rc = st->sink->drain(st->sink);

        if (rc == PUSH_SINK_GONE) {
            end(st, PUSH_ENDED_CLIENT);
            return;
        }
        if (rc == PUSH_SINK_SENT
            || st->sink->pending(st->sink) < before) {
            /* It takes some: a slow reader, not a stalled one.  (What
             * is delivered next may wait again: from now.) */
            st->stalled_since = push_now();
            st->unsent_seen = unsent_in_socket(st);
            if (!fixed_pings(st)) {
                push_loop_touch(st->it, st->stalled_since);
            }
        }
        if (rc == PUSH_SINK_SENT) {
            deliver(st);
        }
    }
    if (st->it->ended) {
        return;
    }
    if ((st->sub->t->flags & PUSH_T_READS)
        && (hangup || (events & EPOLLIN))) {
        int got;
        int rc = push_sub_read(st->sub, st->source, &got);

        st->read_more = rc == PUSH_INPUT_MORE && st->source->hides_input;
        if (rc == PUSH_INPUT_END) {
            end(st, PUSH_ENDED_SERVER);   /* Close exchanged, or refused */
        }
        else if (rc == PUSH_INPUT_CLOSED || (!got && hangup)) {
            end(st, PUSH_ENDED_CLIENT);
        }
        else if (got) {
            /* What it just published goes out to it before it is read
             * further (the others are woken by the channel): a client
             * that does not read its echoes fills its socket, and is
             * then not read either. */
            deliver(st);
        }
    }
    else if (hangup) {
        end(st, PUSH_ENDED_CLIENT);
    }
    settle(st);
}

void push_stream_due(push_stream_t *st, int64_t now)
{
    if (st->closing) {
        end(st, PUSH_ENDED_SERVER);   /* no Close from the client */
        return;
    }
    if (st->stalled_since) {
        int64_t unsent = unsent_in_socket(st);

        if (unsent >= 0 && unsent < st->unsent_seen) {
            st->stalled_since = now;            /* it reads, slowly */
        }
        st->unsent_seen = unsent;
        if (st->write_timeout && now - st->stalled_since >= st->write_timeout) {
            /* It took nothing of what waits for it for Timeout. */
            if (st->sub->env->stalled) {
                st->sub->env->stalled(st->sub, now - st->stalled_since);
            }
            end(st, PUSH_ENDED_CLIENT);
            return;
        }
        push_loop_touch(st->it, now);
        if (!(st->sub->t->flags & PUSH_T_PING_FIXED)) {
            return;                    /* not idle: still writing */
        }
    }
    push_loop_touch(st->it, now);
    if (st->sub->t->on_idle(st->sub)) {
        end(st, PUSH_ENDED_SERVER);
        return;
    }
    settle(st);
}

void push_stream_expired(push_stream_t *st, int64_t now)
{
    (void)now;
    if (!st->closing && !st->it->ended) {
        stop(st, PUSH_STOP_TIMEOUT);
    }
}

void push_stream_wake(push_stream_t *st)
{
    deliver(st);
}

void push_stream_unwatchable(push_stream_t *st)
{
    if (!st->closing && !st->it->ended) {
        stop(st, PUSH_STOP_STOPPING);
    }
}

void push_stream_finish(push_stream_t *st)
{
    if (st->it->ended == PUSH_ENDED_SERVER && st->sink->finish) {
        st->sink->finish(st->sink);
    }
    if (st->sink->release) {
        st->sink->release(st->sink);
    }
}
