#!/bin/sh
echo "idevicerestore 1.0.0"
