#include <pthread.h>
#include <stdlib.h>

struct pool {
    pthread_t thread;
    size_t stack_size;
    int running;
};

static void *worker_main(void *arg);

/* Starts the pool's worker thread with the pool's stack size; a failure is fatal. */
void start_worker(struct pool *p)
{
    pthread_attr_t attr;
    size_t stack = p->stack_size;
    int rc;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stack);
    rc = pthread_create(&p->thread, &attr, worker_main, p);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        abort();
    p->running = 1;
}
