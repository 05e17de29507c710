#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

struct pool {
    pthread_t thread;
    size_t stack_size;
    bool active;
};

void *worker_main(void *arg);

static void log_started(const struct pool *q)
{
    fprintf(stderr, "worker started with a stack of %zu bytes\n", q->stack_size);
}

void launch(struct pool *q)
{
    pthread_attr_t a;
    size_t sz = q->stack_size;
    int err;

    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, sz);
    err = pthread_create(&q->thread, &a, worker_main, q);
    pthread_attr_destroy(&a);
    if (err != 0)
        return;
    else
        log_started(q);
    q->active = true;
}

int stop_all(struct pool *pools, int count)
{
    int stopped = 0;
    for (int i = 0; i < count; i++) {
        if (pools[i].active) {
            pthread_join(pools[i].thread, NULL);
            pools[i].active = false;
            stopped++;
        }
    }
    return stopped;
}
