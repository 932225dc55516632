// The shared data-path header (include/nfdsr/dsr_option.h), checked against
// the reference SYN from BRIEF §2.
#include <arpa/inet.h>
#include <nfdsr/dsr_option.h>

#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <random>
#include <vector>

namespace {

// k8s-s -> k8s-w1 SYN with the DSR option, from the IP header on (68 bytes).
const std::array<__u8, 68> reference_syn = {
    0x47, 0x00, 0x00, 0x44, 0xe9, 0x84, 0x40, 0x00, 0x3f, 0x06, 0x09, 0x8a, 0xc0, 0xa8, 0x0a, 0xc8,
    0xac, 0x10, 0x02, 0xd6, 0x9a, 0x08, 0x7f, 0x7b, 0x0a, 0x0a, 0xa8, 0xc0, 0xc5, 0x1a, 0x00, 0x50,
    0x03, 0x44, 0xdf, 0x3b, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xf5, 0x07, 0x80, 0xf9, 0x00, 0x00,
    0x02, 0x04, 0x23, 0x01, 0x04, 0x02, 0x08, 0x0a, 0xba, 0x01, 0xd8, 0x6e, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x03, 0x03, 0x07,
};

__be32 addr(const char* text)
{
    in_addr a{};
    REQUIRE(inet_pton(AF_INET, text, &a) == 1);
    return a.s_addr;
}

// Ones' complement sum of a header including its checksum: 0xffff if valid.
bool header_checksum_ok(const __u8* hdr)
{
    unsigned len = (hdr[0] & 0x0f) * 4u;
    return nfdsr_csum_fold(nfdsr_csum_words(hdr, len, 0)) == 0xffff;
}

int find(std::vector<__u8> opts, unsigned* off)
{
    // Exact-size heap copy so ASan would catch any over-read.
    return nfdsr_opt4_find(opts.data(), static_cast<unsigned>(opts.size()), off);
}

}  // namespace

TEST_CASE("encode matches Cilium's byte-swapped layout")
{
    __u8 out[NFDSR_OPT4_LEN];
    nfdsr_opt4_encode(out, addr("192.168.10.10"), htons(31615));
    const __u8 expected[] = {0x9a, 0x08, 0x7f, 0x7b, 0x0a, 0x0a, 0xa8, 0xc0};
    CHECK(std::memcmp(out, expected, sizeof expected) == 0);

    __be32 vip = 0;
    __be16 vport = 0;
    nfdsr_opt4_decode(out, &vip, &vport);
    CHECK(vip == addr("192.168.10.10"));
    CHECK(ntohs(vport) == 31615);
}

TEST_CASE("reference SYN: find, remove, insert round trip")
{
    REQUIRE(header_checksum_ok(reference_syn.data()));

    unsigned off = 99;
    CHECK(nfdsr_opt4_find(reference_syn.data() + 20, 8, &off) == NFDSR_OPT_FOUND);
    CHECK(off == 0);

    std::vector<__u8> pkt(reference_syn.begin(), reference_syn.end());
    __u8* nh = nfdsr_ip4_opt_remove(pkt.data(), off);
    CHECK(nh == pkt.data() + 8);
    CHECK((nh[0] & 0x0f) == 5);
    CHECK(nfdsr_ip4_tot_len(nh) == 60);
    CHECK(header_checksum_ok(nh));
    // Addresses and the TCP segment are untouched.
    CHECK(std::memcmp(nh + 12, reference_syn.data() + 12, 8) == 0);
    CHECK(std::memcmp(nh + 20, reference_syn.data() + 28, 40) == 0);

    CHECK(nfdsr_ip4_opt_fits(nh));
    nfdsr_ip4_opt_insert(pkt.data(), addr("192.168.10.10"), htons(31615));
    CHECK(std::memcmp(pkt.data(), reference_syn.data(), reference_syn.size()) == 0);
    CHECK(pkt[10] == 0x09);
    CHECK(pkt[11] == 0x8a);
}

TEST_CASE("option after other options, and a full header")
{
    // NOP, NOP, then ours, then End.
    unsigned off = 0;
    CHECK(find({1, 1, 0x9a, 8, 1, 2, 3, 4, 5, 6, 0, 0}, &off) == NFDSR_OPT_FOUND);
    CHECK(off == 2);
    // Another option (record route, length 7) before ours.
    CHECK(find({7, 7, 4, 0, 0, 0, 0, 0x9a, 8, 1, 2, 3, 4, 5, 6, 0}, &off) == NFDSR_OPT_FOUND);
    CHECK(off == 7);
    CHECK(find({7, 7, 4, 0, 0, 0, 0, 0}, &off) == NFDSR_OPT_ABSENT);
    CHECK(find({}, &off) == NFDSR_OPT_ABSENT);
    CHECK(find({0, 0x9a, 8}, &off) == NFDSR_OPT_ABSENT);  // after End of list

    __u8 hdr[60] = {0x4f};
    CHECK_FALSE(nfdsr_ip4_opt_fits(hdr));
    hdr[0] = 0x4c;  // 48 bytes + 8 = 56
    CHECK(nfdsr_ip4_opt_fits(hdr));
    hdr[0] = 0x4e;  // 56 + 8 = 64
    CHECK_FALSE(nfdsr_ip4_opt_fits(hdr));
}

TEST_CASE("malformed option lists")
{
    unsigned off = 0;
    CHECK(find({0x44, 0}, &off) == NFDSR_OPT_MALFORMED);        // zero length
    CHECK(find({0x44, 1, 0, 0}, &off) == NFDSR_OPT_MALFORMED);  // length < 2
    CHECK(find({0x44, 9, 0, 0, 0, 0, 0, 0}, &off) == NFDSR_OPT_MALFORMED);  // past the end
    CHECK(find({1, 1, 1, 0x44}, &off) == NFDSR_OPT_MALFORMED);   // no room for the length byte
    CHECK(find({0x9a, 4, 0, 0}, &off) == NFDSR_OPT_BAD_LENGTH);  // our type, wrong length
    CHECK(find({0x9a, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, &off) == NFDSR_OPT_BAD_LENGTH);
    CHECK(find({0x9a, 8, 0, 0}, &off) == NFDSR_OPT_MALFORMED);  // our option truncated
}

TEST_CASE("incremental checksum helpers agree with full recomputation")
{
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int round = 0; round < 2000; ++round) {
        __u8 hdr[60];
        for (auto& b : hdr)
            b = static_cast<__u8>(byte(rng));
        hdr[0] = static_cast<__u8>(0x40 | (5 + round % 11));
        const unsigned len = (hdr[0] & 0x0f) * 4u;
        nfdsr_put16(hdr + NFDSR_IP4_OFF_CHECK, 0);
        nfdsr_put16(hdr + NFDSR_IP4_OFF_CHECK, nfdsr_ip4_hdr_csum(hdr, len));
        REQUIRE(header_checksum_ok(hdr));

        // 16-bit field change (e.g. total length / TTL word).
        // Any word but the first (it holds the IHL, which defines the length).
        const unsigned off16 = 2 + 2 * static_cast<unsigned>(byte(rng) % (len / 2 - 1));
        if (off16 != NFDSR_IP4_OFF_CHECK) {
            __u16 from = nfdsr_get16(hdr + off16);
            __u16 to = static_cast<__u16>(byte(rng) << 8 | byte(rng));
            __u16 check = nfdsr_get16(hdr + NFDSR_IP4_OFF_CHECK);
            nfdsr_put16(hdr + off16, to);
            nfdsr_put16(hdr + NFDSR_IP4_OFF_CHECK, nfdsr_csum_replace2(check, from, to));
            CHECK(header_checksum_ok(hdr));
        }

        // 32-bit change of the destination address.
        __u32 from32;
        std::memcpy(&from32, hdr + NFDSR_IP4_OFF_DADDR, 4);
        __u32 to32 = static_cast<__u32>(rng());
        __u16 check = nfdsr_get16(hdr + NFDSR_IP4_OFF_CHECK);
        std::memcpy(hdr + NFDSR_IP4_OFF_DADDR, &to32, 4);
        nfdsr_put16(hdr + NFDSR_IP4_OFF_CHECK, nfdsr_csum_replace4(check, from32, to32));
        CHECK(header_checksum_ok(hdr));

        // And the result equals a fresh computation bit for bit (modulo the
        // +0/-0 ambiguity of ones' complement, which a valid sum tolerates).
        __u16 incremental = nfdsr_get16(hdr + NFDSR_IP4_OFF_CHECK);
        nfdsr_put16(hdr + NFDSR_IP4_OFF_CHECK, 0);
        __u16 full = nfdsr_ip4_hdr_csum(hdr, len);
        CHECK((incremental == full || (incremental ^ full) == 0xffff));
    }
}
