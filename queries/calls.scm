; Every call of a method on something: `op.drop_table(...)`,
; `batch_op.add_column(...)`, `sa.Column(...)`. The Rust side keeps the ones
; whose receiver is `op` or a batch alias.
(call
  function: (attribute
    object: (_) @receiver
    attribute: (identifier) @method)
  arguments: (argument_list) @arguments) @call
; Calls of a plain or dotted helper: `create_index_concurrently(...)`.
(call
  function: (identifier) @helper
  arguments: (argument_list) @arguments) @call
