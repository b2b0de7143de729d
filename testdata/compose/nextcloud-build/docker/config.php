<?php $CONFIG = ['memory' => getenv('PHP_MEMORY_LIMIT')];
