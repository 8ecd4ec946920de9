// The part of a pooling window inside the input, along one axis (the int8 pools and the
// binary max pool clip their windows alike: padding is never a tap).
#ifndef MICROAI_NN_POOL_WINDOW_H
#define MICROAI_NN_POOL_WINDOW_H

#include <stdint.h>

/// Output o's window starts at `start` = o * stride - pad; its taps [first, end) (counted
/// from start) lie inside [0, size).
typedef struct {
    int32_t start;
    int32_t first;
    int32_t end;
} nn_window;

static inline nn_window nn_pool_window(int32_t o, int32_t stride, int32_t pad, int32_t filter,
    int32_t size) {
    nn_window w;
    w.start = o * stride - pad;
    w.first = w.start < 0 ? -w.start : 0;
    w.end = filter < size - w.start ? filter : size - w.start;
    return w;
}

#endif // MICROAI_NN_POOL_WINDOW_H
