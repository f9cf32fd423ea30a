// Package geo is Redis 7.0's geospatial index math (src/geohash.c,
// geohash_helper.c and the search parts of geo.c): a position is a 52-bit
// interleaved geohash stored as a sorted-set score, a search covers the
// center geohash box and its eight neighbours at a step chosen from the
// radius, and candidates are filtered by haversine distance (a circle) or
// by latitude and longitude distances (a box).
//
// It is pure: no keys, no replies, no I/O. The server layer reads scores
// from the sorted set, asks here which score ranges to scan and whether a
// score is inside the shape, and formats the replies.
package geo
