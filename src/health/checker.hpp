// Health state of one backend from its probe results: the rise/fall state
// machine, pure (no I/O, no clock), so it is unit-tested on its own.
//
// A backend starts up (so a daemon restart, which knows nothing yet, keeps
// every backend in the tables it adopts). `fall` consecutive failures take
// it down, `rise` consecutive successes bring it back; a result that agrees
// with the current state resets the opposite streak.
#pragma once

#include <cstdint>

namespace nfdsr::health {

class Checker {
public:
    Checker(std::uint32_t rise, std::uint32_t fall, bool up = true)
        : rise_(rise ? rise : 1), fall_(fall ? fall : 1), up_(up)
    {
    }

    // Feeds one probe result; true when the state flipped.
    bool observe(bool success)
    {
        if (success == up_) {
            streak_ = 0;
            return false;
        }
        if (++streak_ < (up_ ? fall_ : rise_))
            return false;
        up_ = !up_;
        streak_ = 0;
        return true;
    }

    // New thresholds (config reload); the state and streak are kept.
    void set_thresholds(std::uint32_t rise, std::uint32_t fall)
    {
        rise_ = rise ? rise : 1;
        fall_ = fall ? fall : 1;
    }

    bool up() const { return up_; }
    // Consecutive results against the current state so far.
    std::uint32_t streak() const { return streak_; }

private:
    std::uint32_t rise_;
    std::uint32_t fall_;
    bool up_;
    std::uint32_t streak_ = 0;
};

}  // namespace nfdsr::health
