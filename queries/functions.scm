; Module-level functions: upgrade(), downgrade() and their multi-database
; variants upgrade_<name>() / downgrade_<name>(), decorated or not.
(module
  (function_definition
    name: (identifier) @name) @function)
(module
  (decorated_definition
    definition: (function_definition
      name: (identifier) @name) @function))
