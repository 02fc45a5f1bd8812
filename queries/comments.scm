; Every comment: approval tags live in them.
(comment) @comment
