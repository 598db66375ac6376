"""Describing many videos: `videodesc batch` on this machine's cores or on a Ray cluster.

inputs: the videos a batch names; steps: one step of one video as a child process;
local: the pool that runs steps here; cluster: Ray tasks; summary: batch.json and the table;
pipeline: the whole batch.
"""
