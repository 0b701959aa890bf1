import Lake
open Lake DSL

package «nat-list» where

@[default_target]
lean_lib NatList where
