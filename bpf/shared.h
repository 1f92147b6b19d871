/* Structures shared between the XDP program and threeway (src/xsk/steer.rs mirrors them). */
#ifndef THREEWAY_SHARED_H
#define THREEWAY_SHARED_H
#include <linux/types.h>
#endif
