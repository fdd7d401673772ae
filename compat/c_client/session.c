/*
 * A session of Apache ZooKeeper's C client (libzookeeper_mt) exercising watches, multi and
 * ephemerals. It prints one line per step, without times, zxids or session ids, so that the
 * output against zk-server can be compared with the output against Apache ZooKeeper.
 *
 *   session HOST:PORT
 *
 * Exits 0 once every step ran (whatever each step returned), 1 when it cannot connect.
 */
#define THREADED /* the synchronous API of libzookeeper_mt */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

/* Watch events and the connected state, handed from the client's thread to main. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int connections; /* connected-state events so far, over every session */
static char events[16][256];
static int event_count;

static const char *event_name(int type) {
    if (type == ZOO_CREATED_EVENT) return "created";
    if (type == ZOO_DELETED_EVENT) return "deleted";
    if (type == ZOO_CHANGED_EVENT) return "changed";
    if (type == ZOO_CHILD_EVENT) return "child";
    if (type == ZOO_SESSION_EVENT) return "session";
    return "other";
}

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh;
    (void)ctx;
    pthread_mutex_lock(&lock);
    if (type == ZOO_SESSION_EVENT) {
        if (state == ZOO_CONNECTED_STATE) connections++;
    } else if (event_count < 16) {
        snprintf(events[event_count++], sizeof events[0], "%s %s", event_name(type), path);
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* Waits up to 10 s for `*flag` to reach `want`. */
static int wait_for(int *flag, int want) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&lock);
    while (*flag < want) {
        if (pthread_cond_timedwait(&changed, &lock, &deadline) != 0) break;
    }
    int reached = *flag >= want;
    pthread_mutex_unlock(&lock);
    return reached;
}

/* Prints the watch events received since the last call. */
static void print_events(int expected) {
    static int printed;
    if (!wait_for(&event_count, printed + expected)) printf("  (fewer watch events than %d)\n", expected);
    pthread_mutex_lock(&lock);
    for (; printed < event_count; printed++) printf("  event: %s\n", events[printed]);
    pthread_mutex_unlock(&lock);
}

static zhandle_t *open_session(const char *hosts) {
    pthread_mutex_lock(&lock);
    int before = connections;
    pthread_mutex_unlock(&lock);
    zhandle_t *zh = zookeeper_init(hosts, watcher, 10000, NULL, NULL, 0);
    if (zh == NULL || !wait_for(&connections, before + 1)) return NULL;
    return zh;
}

static void print_stat(const char *what, const struct Stat *s) {
    printf("%s: version=%d cversion=%d aversion=%d dataLength=%d numChildren=%d ephemeral=%s\n", what,
           s->version, s->cversion, s->aversion, s->dataLength, s->numChildren,
           s->ephemeralOwner != 0 ? "yes" : "no");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s HOST:PORT\n", argv[0]);
        return 2;
    }
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = open_session(argv[1]);
    if (zh == NULL) {
        fprintf(stderr, "could not connect to %s\n", argv[1]);
        return 1;
    }
    struct ACL_vector *open = &ZOO_OPEN_ACL_UNSAFE;
    char name[256];
    char buffer[256];
    int len;
    struct Stat stat;
    struct String_vector children;
    int rc;

    rc = zoo_create(zh, "/c", "root", 4, open, 0, name, sizeof name);
    printf("create /c: %s %s\n", zerror(rc), rc == ZOK ? name : "");
    rc = zoo_create(zh, "/c", "again", 5, open, 0, name, sizeof name);
    printf("create /c again: %s\n", zerror(rc));
    rc = zoo_create(zh, "/missing/child", "x", 1, open, 0, name, sizeof name);
    printf("create /missing/child: %s\n", zerror(rc));

    /* A data watch fires once, on the first change only. */
    zoo_create(zh, "/c/w", "one", 3, open, 0, name, sizeof name);
    len = sizeof buffer;
    rc = zoo_wget(zh, "/c/w", watcher, NULL, buffer, &len, &stat);
    printf("wget /c/w: %s '%.*s'\n", zerror(rc), len, buffer);
    rc = zoo_set(zh, "/c/w", "two", 3, 0);
    printf("set /c/w version 0: %s\n", zerror(rc));
    print_events(1);
    rc = zoo_set(zh, "/c/w", "three", 5, 0);
    printf("set /c/w version 0 again: %s\n", zerror(rc));
    rc = zoo_set(zh, "/c/w", "three", 5, 1);
    printf("set /c/w version 1: %s\n", zerror(rc));

    /* A child watch and an exists watch on a node that does not exist yet. */
    rc = zoo_wget_children(zh, "/c", watcher, NULL, &children);
    printf("wget_children /c: %s count=%d\n", zerror(rc), children.count);
    deallocate_String_vector(&children);
    rc = zoo_wexists(zh, "/c/later", watcher, NULL, &stat);
    printf("wexists /c/later: %s\n", zerror(rc));
    zoo_create(zh, "/c/later", "", 0, open, 0, name, sizeof name);
    print_events(2);

    /* Ephemeral and sequential nodes. */
    rc = zoo_create(zh, "/c/e", "mine", 4, open, ZOO_EPHEMERAL, name, sizeof name);
    printf("create ephemeral /c/e: %s\n", zerror(rc));
    rc = zoo_exists(zh, "/c/e", 0, &stat);
    print_stat("exists /c/e", &stat);
    rc = zoo_create(zh, "/c/e/child", "", 0, open, 0, name, sizeof name);
    printf("create /c/e/child: %s\n", zerror(rc));
    for (int i = 0; i < 2; i++) {
        rc = zoo_create(zh, "/c/s-", "", 0, open, ZOO_SEQUENCE, name, sizeof name);
        printf("create sequential /c/s-: %s %s\n", zerror(rc), name);
    }

    /* A multi that fails on its check rolls back its create. */
    zoo_op_t ops[3];
    zoo_op_result_t results[3];
    char created[256] = "";
    zoo_create_op_init(&ops[0], "/c/m", "m", 1, open, 0, created, sizeof created);
    zoo_set_op_init(&ops[1], "/c/w", "four", 4, 2, NULL);
    zoo_check_op_init(&ops[2], "/c/w", 7);
    rc = zoo_multi(zh, 3, ops, results);
    printf("failing multi: %s [%s, %s, %s]\n", zerror(rc), zerror(results[0].err), zerror(results[1].err),
           zerror(results[2].err));
    rc = zoo_exists(zh, "/c/m", 0, &stat);
    printf("exists /c/m after the failed multi: %s\n", zerror(rc));
    zoo_create_op_init(&ops[0], "/c/m", "m", 1, open, 0, created, sizeof created);
    zoo_set_op_init(&ops[1], "/c/w", "four", 4, 2, NULL);
    zoo_check_op_init(&ops[2], "/c/w", 3);
    rc = zoo_multi(zh, 3, ops, results);
    printf("multi: %s [%s, %s, %s] created %s\n", zerror(rc), zerror(results[0].err),
           zerror(results[1].err), zerror(results[2].err), created);
    len = sizeof buffer;
    rc = zoo_get(zh, "/c/w", 0, buffer, &len, &stat);
    printf("get /c/w: %s '%.*s'\n", zerror(rc), len, buffer);
    print_stat("stat /c/w", &stat);
    rc = zoo_delete(zh, "/c", -1);
    printf("delete /c: %s\n", zerror(rc));

    /* The ephemeral ends with its session, and a watcher in another session sees it go. */
    zhandle_t *other = open_session(argv[1]);
    if (other == NULL) {
        fprintf(stderr, "could not open a second session\n");
        return 1;
    }
    rc = zoo_wexists(other, "/c/e", watcher, NULL, &stat);
    printf("second session: wexists /c/e: %s\n", zerror(rc));
    zookeeper_close(zh);
    print_events(1);
    rc = zoo_exists(other, "/c/e", 0, &stat);
    printf("second session: exists /c/e after the first closed: %s\n", zerror(rc));
    rc = zoo_get_children(other, "/c", 0, &children);
    printf("second session: children of /c: %d\n", children.count);
    deallocate_String_vector(&children);
    zookeeper_close(other);
    return 0;
}
