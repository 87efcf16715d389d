#!/bin/sh
# warden's shell example.
echo "hello from sh inside warden: uid=$(id -u) host=$(hostname)"
